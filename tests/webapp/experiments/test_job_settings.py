"""One JobSettings (classifier.settings, issue 22 item 3): the command line's `train` flags, the job and estimate
forms, the job service's validation and the job row's defaults are all made from it, so they agree: the same
defaults and choices, and a bad value is refused by every one of them."""

import argparse

import pytest
from django.core.exceptions import ValidationError

from classifier import cli
from classifier.head import HeadConfig
from classifier.settings import HEAD_SETTINGS, JobSettings, SettingError
from webapp.experiments import services
from webapp.experiments.forms import EstimateForm, JobForm
from webapp.experiments.models import TrainingJob

SETTINGS = JobSettings.fields_of()
FLAGS = {name: "--lr" if name == "learning_rate" else "--" + name.replace("_", "-") for name in SETTINGS}


def _train_flags() -> dict[str, argparse.Action]:
    commands = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {flag: action for action in commands.choices["train"]._actions for flag in action.option_strings}


def _cli(value):  # the command line's spelling of "nothing"
    return "none" if value == "" else value


def _form(value):  # a form's
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, tuple) else value


def test_every_setting_has_one_default_and_one_set_of_choices_everywhere():
    flags, job_form, estimate_form = _train_flags(), JobForm.base_fields, EstimateForm.base_fields
    assert set(FLAGS.values()) <= set(flags) and set(SETTINGS) <= set(job_form)
    row, head = TrainingJob(), HeadConfig.from_dict(TrainingJob().head_config)  # a row's head config: its defaults
    for name in SETTINGS:
        setting, flag, field = JobSettings.setting(name), flags[FLAGS[name]], job_form[name]
        assert (field.label, field.help_text) == (setting.label, setting.help), name
        assert setting.help in flag.help, name
        if name != "backbone":  # the command line's and the form's default backbone is the one whose weights are
            assert flag.default == _cli(setting.default), name  # there (classifier.backbones.choose_backbone)
            assert field.initial == _form(setting.default), name
        if name == "precision":  # a row holds a resolved precision: job_create resolves the default, auto
            assert setting.default == "auto" and row.precision == "float32"
        else:
            assert getattr(row if name not in HEAD_SETTINGS else head, name) == setting.default, name
        if setting.choices:
            if name not in ("backbone", "weights"):  # the command line also takes a weights file
                assert flag.choices == [_cli(v) for v in setting.values if v is not None], name
            assert [v for v, _ in field.choices] == [_form(v) for v in setting.values], name
        elif setting.min is not None and not setting.many:
            assert (field.min_value, field.max_value) == (setting.min, setting.max), name
        if name in estimate_form:
            assert type(estimate_form[name]) is type(field), name
            assert getattr(estimate_form[name], "choices", None) == getattr(field, "choices", None), name
            assert getattr(estimate_form[name], "min_value", None) == getattr(field, "min_value", None), name
    assert flags["--weights"].default == "imagenet" and flags["--backbone"].default is None
    assert {v for v, _ in JobSettings.setting("backbone").choices} == set(flags["--backbone"].choices)


def _cli_refuses(flag: str, text: str) -> bool:
    try:
        cli._parser().parse_args(["train", "data", "--out", "run", flag, text])
    except SystemExit as exc:
        return exc.code == 2
    return False


def _form_refuses(ann, dataset, name: str, text: str) -> bool:
    data = {"dataset": dataset.pk, "recipe": "article", "backbone": "mobilenet_v2", "weights": "none",
            "pooling": "", "precision": "float32", "input_size": "", "hidden": "100, 50", "dropout": "0.5, 0.3",
            "activation": "leaky_relu", "optimizer": "rmsprop", "learning_rate": "0.0001", "epochs": "7",
            "batch_size": "50", "class_weight": ""}
    form = JobForm(data | {name: text}, user=ann)
    return not form.is_valid() and set(form.errors) == {name}


def _service_refuses(ann, dataset, name: str, value) -> bool:
    columns = {"backbone": "mobilenet_v2", "weights": "none", "pooling": "avg", "recipe": "article", "input_size": 32}
    head = {"hidden": [8, 8], "dropout": [0.1, 0.1], "epochs": 1}
    kwargs = columns | {"head_config": head | {name: value}} if name in HEAD_SETTINGS else columns | {name: value}
    try:
        services.job_create(dataset=dataset, user=ann, **kwargs)
    except ValidationError:
        return not TrainingJob.objects.exists()
    return False


# (setting, as typed, as a value): out of range, a bad list, an unknown choice; then the edges of a range
BAD = [("epochs", "0", 0), ("epochs", "501", 501), ("batch_size", "4097", 4097), ("input_size", "16", 16),
       ("learning_rate", "2", 2.0), ("hidden", "100, 9000", [100, 9000]), ("dropout", "0.5, 1", [0.5, 1.0]),
       ("optimizer", "adagrad", "adagrad"), ("precision", "float16", "float16")]
GOOD = [("epochs", "500", 500), ("learning_rate", "1e-7", 1e-7), ("dropout", "0, 0.99", [0.0, 0.99])]


@pytest.mark.parametrize("name, text, value", BAD)
def test_a_bad_value_is_refused_by_the_command_line_the_form_the_service_and_jobsettings(ann, dataset, name, text,
                                                                                          value):
    with pytest.raises(SettingError) as refused:
        JobSettings(**{name: value})
    assert refused.value.name == name
    assert _cli_refuses(FLAGS[name], text)
    assert _form_refuses(ann, dataset, name, text)
    assert _service_refuses(ann, dataset, name, value)


@pytest.mark.parametrize("name, text, value", GOOD)
def test_the_edges_of_a_range_are_accepted_by_all(ann, dataset, name, text, value):
    assert getattr(JobSettings(**{name: value}), name) == (tuple(value) if isinstance(value, list) else value)
    assert not _cli_refuses(FLAGS[name], text)
    assert not _form_refuses(ann, dataset, name, text)
    assert not _service_refuses(ann, dataset, name, value)


def test_one_dropout_rate_per_hidden_layer_everywhere(ann, dataset, capsys):
    with pytest.raises(SettingError, match="one dropout rate per hidden layer"):
        JobSettings(hidden=(10, 10), dropout=(0.1,))
    # the flags are right on their own: refused together, before any folder is read
    assert cli.main(["train", "no-such-folder", "--out", "run", "--hidden", "10,10", "--dropout", "0.1"]) == 2
    assert "Give one dropout rate per hidden layer (2)." in capsys.readouterr().err
    form = JobForm({"dataset": dataset.pk, "recipe": "article", "backbone": "mobilenet_v2", "weights": "none",
                    "precision": "float32", "hidden": "10, 10", "dropout": "0.1", "activation": "relu",
                    "optimizer": "adam", "learning_rate": "0.01", "epochs": "0", "batch_size": "4"}, user=ann)
    assert not form.is_valid() and form.errors["dropout"] == ["Give one dropout rate per hidden layer (2)."]
    assert "epochs" in form.errors  # reported beside the other fields' errors
    with pytest.raises(ValidationError, match="one dropout rate per hidden layer"):
        services.job_create(dataset=dataset, user=ann, backbone="mobilenet_v2", weights="none", recipe="article",
                            head_config={"hidden": [10, 10], "dropout": [0.1]})


def test_the_job_forms_arguments_are_the_settings_of_the_job_it_makes(ann, dataset):
    form = JobForm({"dataset": dataset.pk, "recipe": "article", "backbone": "mobilenet_v2", "weights": "none",
                    "pooling": "avg", "precision": "float32", "input_size": "32", "hidden": "16", "dropout": "0.1",
                    "activation": "relu", "optimizer": "adam", "learning_rate": "0.001", "epochs": "2",
                    "batch_size": "4", "class_weight": "balanced", "keep_best": "on"}, user=ann)
    assert form.is_valid(), form.errors
    job = services.job_create(user=ann, **form.job_kwargs())
    assert JobSettings.from_job(recipe=job.recipe, backbone=job.backbone, weights=job.weights, pooling=job.pooling,
                                precision=job.precision, input_size=job.input_size,
                                head_config=job.head_config) == form.job_settings
    assert form.job_settings == JobSettings(recipe="article", backbone="mobilenet_v2", weights="none",
                                            pooling="avg", precision="float32", input_size=32, hidden=(16,), dropout=(0.1,),
                                            activation="relu", optimizer="adam", learning_rate=0.001, epochs=2,
                                            batch_size=4, class_weight="balanced", keep_best=True)
