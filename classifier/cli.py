"""`python -m classifier train|predict|evaluate|export|audit|suggest`: the article's workflow on a folder, without the web app."""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from classifier.backbones import (BACKBONES, DEFAULT_BACKBONE, cached_backbones, choose_backbone, imagenet_weights_path,
                                  keras_models_dir, weights_arg)
from classifier.data import DEFAULT_FRACTIONS, SPLITS, discover, folder_splits
from classifier.precision import resolve_cached
from classifier.recipes import FINE_TUNING, get_recipe
from classifier.settings import HEAD_SETTINGS, JobSettings, Setting, SettingError

DEFAULT_CACHE = Path(os.environ.get("MENAGERIE_FEATURE_CACHE", Path.home() / ".cache" / "menagerie" / "features"))


BACKBONE_HELP = (f"{JobSettings.setting('backbone').help} Default: the article's {DEFAULT_BACKBONE} when its "
                 "ImageNet weights are cached, else the first backbone whose weights are (as the web app picks; the "
                 "choice is printed)")
WEIGHTS_HELP = (f"{JobSettings.setting('weights').help} {' or '.join(JobSettings.setting('weights').values)}, or "
                "a weights file")


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v)


def _cli_value(value):
    """A setting's value as the command line spells it: the 7x7 maps are `--pooling none`."""
    return "none" if value == "" else value


def _setting_type(setting: Setting):
    """argparse's `type` for a setting: parsed and checked by JobSettings' rule (a refusal is argparse's error)."""
    def parse(text: str):
        try:
            return setting.parse(text)
        except SettingError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = setting.name  # argparse names the type in its "invalid value" message
    return parse


def _add_setting(parser, name: str, flag: str | None = None, **overrides) -> None:
    """A flag made from JobSettings' setting: its default, choices or checked type, help; `overrides` for what the
    command line does its own way (the backbone's automatic default, a weights file)."""
    setting = JobSettings.setting(name)
    options = {"default": _cli_value(setting.default), "help": setting.help}
    if setting.type is bool:
        options["action"] = "store_true"
    elif setting.choices:  # "nothing" is the flag left out (its default), not a choice
        options["choices"] = [_cli_value(v) for v in setting.values if v is not None]
    else:
        options["type"] = _setting_type(setting)
    parser.add_argument(flag or "--" + name.replace("_", "-"), **options | overrides)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifier", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="extract features, train a head, evaluate, save the run")
    train.add_argument("data_dir", type=Path, help="train/ validation/ test/ of class folders, or class folders")
    train.add_argument("--out", type=Path, required=True, help="run folder to write")
    _add_setting(train, "recipe")
    train.add_argument("--fine-tuning", choices=FINE_TUNING, default=FINE_TUNING[0],
                       help="recommended: when to try fine-tuning the last block, where it can pay. follow-up "
                            "(default): not now; the run says where it can pay, and a second train with --fine-tuning "
                            "now and the same --cache runs only the trial (the search is reused) and keeps the "
                            "fine-tuned head only if it wins; now: with the search; never")
    _add_setting(train, "backbone", default=None, help=BACKBONE_HELP)
    _add_setting(train, "weights", choices=None, help=WEIGHTS_HELP)
    _add_setting(train, "pooling")
    _add_setting(train, "precision")
    _add_setting(train, "input_size")
    train.add_argument("--split", type=_floats, default=DEFAULT_FRACTIONS,
                       help="train,validation,test fractions for a folder of classes (default 0.85,0.05,0.10)")
    train.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache folder")
    train.add_argument("--extract-batch-size", type=int, default=32)
    for name in HEAD_SETTINGS:
        _add_setting(train, name, {"learning_rate": "--lr"}.get(name))
    train.add_argument("--seed", type=int, default=0)

    predict = commands.add_parser("predict", help="class probabilities and the decision per image")
    predict.add_argument("run_dir", type=Path)
    predict.add_argument("images", type=Path, nargs="+")
    predict.add_argument("--top-k", type=int, default=None)

    evaluate = commands.add_parser("evaluate", help="score a saved run on another folder of class folders")
    evaluate.add_argument("run_dir", type=Path)
    evaluate.add_argument("data_dir", type=Path)
    evaluate.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    evaluate.add_argument("--extract-batch-size", type=int, default=32)

    export = commands.add_parser("export", help="the portable bundle: Keras, TFLite, ONNX, labels, model card")
    export.add_argument("run_dir", type=Path)
    export.add_argument("--out", type=Path, required=True, help="zip file to write, e.g. bundle.zip")
    export.add_argument("--photos", type=Path, default=None,
                        help="folder of photos for the int8 calibration (default: the run's training photos)")

    audit = commands.add_parser("audit", help="suspected label errors, near duplicates, leaks between splits")
    audit.add_argument("data_dir", type=Path, help="train/ validation/ test/ of class folders, or class folders")
    audit.add_argument("--json", type=Path, default=None, help="write every finding to this JSON file")
    audit.add_argument("--also", type=Path, action="append", default=[],
                       help="another dataset folder searched for the same photos (leaks), e.g. an evaluation set")
    _add_setting(audit, "backbone", default=None, help=BACKBONE_HELP)
    _add_setting(audit, "weights", choices=None, help=WEIGHTS_HELP)
    _add_setting(audit, "input_size", help="image side (default: the backbone's)")
    audit.add_argument("--split", type=_floats, default=DEFAULT_FRACTIONS,
                       help="train,validation,test fractions for a folder of classes (default 0.85,0.05,0.10)")
    audit.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache folder")
    audit.add_argument("--extract-batch-size", type=int, default=32)
    audit.add_argument("--top", type=int, default=30, help="suspected label errors to print (the JSON has all)")
    audit.add_argument("--seed", type=int, default=0)

    suggest = commands.add_parser("suggest", help="a class with its confidence for each unlabelled photo, and the "
                                                  "photos worth labelling next")
    suggest.add_argument("data_dir", type=Path, help="the labelled photos: train/ validation/ test/ of class "
                                                     "folders, or class folders")
    suggest.add_argument("unlabelled_dir", type=Path, help="a folder of photos with no class (read recursively)")
    suggest.add_argument("--json", type=Path, default=None, help="write the suggestions (and --next) to this file")
    suggest.add_argument("--next", type=int, default=0, metavar="N", help="also list the N photos to label next")
    suggest.add_argument("--strategy", default=None, help="what to label next: one of classifier.labelling's "
                                                          "STRATEGIES (default: its DEFAULT_STRATEGY)")
    suggest.add_argument("--max-error", type=float, default=0.05,
                         help="bulk acceptance: the confidence from which the error is at most this (95 %% upper "
                              "bound on the held-out photos)")
    suggest.add_argument("--backbone", choices=list(BACKBONES), default=None,
                         help="default: classifier.labelling.LABELLING_BACKBONE, whose features the web app's "
                              "suggester reads")
    suggest.add_argument("--weights", default="imagenet", help="imagenet, none (seeded random init) or a file")
    suggest.add_argument("--input-size", type=int, default=None, help="image side (default: the backbone's)")
    suggest.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="feature cache folder")
    suggest.add_argument("--extract-batch-size", type=int, default=32)
    suggest.add_argument("--top", type=int, default=20, help="suggestions to print (the JSON has all)")
    suggest.add_argument("--seed", type=int, default=0)
    return parser


def _backbone(args) -> str:
    """--backbone, or the one the web app would pick (classifier.backbones.choose_backbone), printed either way."""
    if args.backbone:
        print(f"backbone {args.backbone}")
        return args.backbone
    if weights_arg(args.weights) != "imagenet":  # random init or a file: nothing to look for in the Keras cache
        print(f"backbone {DEFAULT_BACKBONE} (the article's; --backbone to choose another)")
        return DEFAULT_BACKBONE
    available = cached_backbones()
    backbone = choose_backbone(available)
    if not available:  # the weights error that follows says which file to put where
        why = f"no backbone's ImageNet weights are in {keras_models_dir()}"
    elif backbone == DEFAULT_BACKBONE:
        why = "the article's; its ImageNet weights are cached"
    else:
        why = f"the first whose ImageNet weights are in {keras_models_dir()}; {DEFAULT_BACKBONE}'s are not"
    print(f"backbone {backbone} ({why}; --backbone to choose another)")
    return backbone


def _hashes(found: dict) -> dict:
    from classifier.images import content_hash

    return {p: content_hash(p) for by_label in found.values() for paths in by_label.values() for p in paths}


def _extract_splits(splits: dict, hashes: dict, spec, cache, batch_size: int) -> dict:
    """Extract every image once (progress bar); per split the (hash, path, label) rows of the usable images."""
    from tqdm import tqdm

    from classifier.features import extract

    rows = {s: [(hashes[p], p, label) for label, paths in by_label.items() for p in paths]
            for s, by_label in splits.items()}
    items = [(h, p) for split_rows in rows.values() for h, p, _ in split_rows]
    with tqdm(total=len(items), desc="features", unit="img", file=sys.stderr) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        report = extract(items, spec, cache, batch_size=batch_size, on_progress=progress)
    print(f"features: {report.extracted} extracted, {report.cached} cached, {len(report.skipped)} skipped "
          f"in {report.seconds:.1f}s")
    for s in report.skipped:
        print(f"  skipped {s.reason}")
    bad = {s.content_hash for s in report.skipped}
    return {s: [r for r in split_rows if r[0] not in bad] for s, split_rows in rows.items()}


def _arrays(rows: list, spec, cache, class_names: list[str]):
    import numpy as np

    from classifier.features import load_views

    x = load_views(cache, spec, [h for h, _, _ in rows])
    y = np.array([class_names.index(label) for _, _, label in rows], dtype=int)
    return x, y


def _decision_path(cache: Path, spec, class_names: list[str]) -> Path:
    """Where the recommended recipe's last decision on these views and classes is kept: in the cache folder, next
    to the features it was made on (classifier.recipes.reusable_decision)."""
    from classifier.features import views

    key = hashlib.sha256(json.dumps([[s.key for s in views(spec)], class_names]).encode()).hexdigest()[:16]
    return cache / "decisions" / f"{key}.json"


def _train(args) -> int:
    from classifier.evaluate import format_report
    from classifier.features import FeatureCache, FeatureSpec, views
    from classifier.images import longer_sides
    from classifier.model_io import write_json
    from classifier.recipes import (changed_photos, decision_record, feature_specs, labelled_set, reusable_decision,
                                    views_label)
    from classifier.workflow import train_and_evaluate

    # each flag was checked on its own; together here (one dropout rate per hidden layer): SettingError otherwise
    config = JobSettings(**{name: getattr(args, "lr" if name == "learning_rate" else name)
                            for name in HEAD_SETTINGS}).head_config()
    splits, hashes = folder_splits(args.data_dir, args.split)
    if "train" not in splits:
        raise ValueError(f"{args.data_dir} is an evaluation-only folder (only test/): nothing to train on; score a "
                         f"saved run on it with `python -m classifier evaluate RUN_DIR {args.data_dir}`")
    class_names = sorted({label for by_label in splits.values() for label in by_label})
    weights = weights_arg(args.weights)
    backbone = _backbone(args)
    if weights == "imagenet":
        imagenet_weights_path(backbone)  # missing weights are said at once, before precision auto measures
    args.precision, why = resolve_cached(args.precision, backbone, args.cache, args.input_size)
    if why != "asked for":
        print(f"precision {args.precision} ({why})")
    if get_recipe(args.recipe).fixed_head:
        spec = FeatureSpec(backbone, weights, None if args.pooling == "none" else args.pooling,
                           args.precision, args.input_size)
    else:  # the recommended recipe sizes its views by the labelled photos (classifier.recipes)
        labelled = [p for split in ("train", "validation") for paths in splits.get(split, {}).values() for p in paths]
        spec = feature_specs(args.recipe, backbone, weights, args.precision, args.input_size,
                             photo_sides=longer_sides(labelled))
    counts = {s: sum(len(p) for p in by_label.values()) for s, by_label in splits.items()}
    print(f"{len(class_names)} classes: {', '.join(class_names)}; images " +
          ", ".join(f"{s} {n}" for s, n in counts.items()) + f"; recipe {args.recipe}")
    cache = FeatureCache(args.cache)
    rows = _extract_splits(splits, hashes, spec, cache, args.extract_batch_size)
    data = {s: _arrays(rows.get(s, []), spec, cache, class_names) for s in SPLITS}

    epochs = f"/{config.epochs}" if get_recipe(args.recipe).fixed_head else " (fine-tuning)"

    def epoch_line(epoch, m):
        val = (f" val_loss {m['val_loss']:.4f} val_accuracy {m['val_accuracy']:.4f}"
               if m["val_loss"] is not None else "")
        print(f"epoch {epoch}{epochs}: loss {m['loss']:.4f} accuracy {m['accuracy']:.4f}{val} ({m['seconds']:.1f}s)",
              flush=True)

    test_ids = [str(p) for _, p, _ in rows.get("test", [])]
    labelled = [row for s in ("train", "validation") for row in rows.get(s, [])]
    reuse, photos = None, labelled_set([h for h, _, _ in labelled], [label for _, _, label in labelled])
    decision_path = _decision_path(args.cache, spec, class_names)
    if not get_recipe(args.recipe).fixed_head:
        stored = json.loads(decision_path.read_text()) if decision_path.exists() else None
        reuse = reusable_decision(stored, photos, class_names, views_label(views(spec)))
        if reuse is not None:
            print(f"reused the decision of the cache ({decision_path}): views {reuse['views']}, C {reuse['C']}, "
                  f"fine-tuned {reuse['fine_tuned']}; {changed_photos(stored['photos'], photos)} photo(s) changed")
    result = train_and_evaluate(args.recipe, data, class_names=class_names, spec=spec, config=config,
                                test_ids=test_ids, seed=args.seed, fine_tuning=args.fine_tuning,
                                run_dir=args.out, on_epoch_end=epoch_line, reuse=reuse,
                                reused_from="the cache" if reuse else "", cache=cache,
                                hashes={s: [h for h, _, _ in rows.get(s, [])] for s in SPLITS})
    # a reused decision keeps its record (later changes are counted from the photos its search saw), unless its
    # fine-tuning trial won: a new decision
    chosen = result["search"] and result["search"]["chosen"]
    if chosen and args.fine_tuning != "never" and (reuse is None or "reused_from" not in chosen):
        decision_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(decision_path, decision_record(chosen, photos, class_names, views_label(views(spec))))
    if result["search"]:
        for trial in result["search"]["trials"]:
            print("trial " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in trial.items()))
        print(f"chosen: {result['search']['chosen']}")
    if result["fine_tuning_follow_up"]:
        print(f"fine-tuning the last block could pay here (the linear head's held-out errors leave room for a "
              f"significant gain): try it with the same command and --fine-tuning now (the search is reused from "
              f"{args.cache}; the fine-tuned head is kept only if it wins)")
    calibration = result["calibration"]
    print(f"\ntest ({len(test_ids)} images)\n" + format_report(result["report"]))
    print(f"calibration: temperature {calibration['temperature']:.3f}, ECE {calibration['ece_before']:.3f} -> "
          f"{calibration['ece_after']:.3f}; unsure below {calibration['threshold']:.3f} "
          f"({calibration['unsure_rate']:.1%} of the test photos)")
    write_json(args.out / "features.json", {
        "cache": str(args.cache.resolve()), "spec_key": views(spec)[0].key,
        "items": [{"hash": h, "path": str(p), "label": label, "split": s}
                  for s, split_rows in rows.items() for h, p, label in split_rows],
    })
    print(f"\nrun saved to {args.out} (model.keras, head.keras, model.json, history.json, report.json, "
          f"features.json)")
    return 0


def _predict(args) -> int:
    from classifier.images import ImageError
    from classifier.predict import Predictor

    predictor = Predictor.from_run_dir(args.run_dir)
    status = 0
    for path in args.images:
        try:
            [result] = predictor.predict([path], top_k=args.top_k)
        except ImageError as exc:
            print(f"{path}: error: {exc}", file=sys.stderr)
            status = 1
            continue
        unsure = "unsure, best guess " if result["decision"] == "unsure" else ""
        print(f"{path}: {unsure}{result['label']} ({result['confidence']:.1%})")
        for p in result["probabilities"]:
            print(f"  {p['label']:20} {p['probability']:.4f}")
    return status


def _evaluate(args) -> int:
    from classifier.evaluate import evaluate, format_report
    from classifier.features import FeatureCache
    from classifier.model_io import load_head, load_run, write_json

    run = load_run(args.run_dir)
    class_names, spec = run["class_names"], run["views"]
    found = discover(args.data_dir)
    by_label = {}
    for split_by_label in found.values():
        for label, paths in split_by_label.items():
            by_label.setdefault(label, []).extend(paths)
    unknown = sorted(set(by_label) - set(class_names))
    if unknown:
        print(f"error: classes not in the model: {', '.join(unknown)} (model has {', '.join(class_names)})",
              file=sys.stderr)
        return 2
    cache = FeatureCache(args.cache)
    rows = _extract_splits({"all": by_label}, _hashes(found), spec, cache, args.extract_batch_size)
    x, y = _arrays(rows["all"], spec, cache, class_names)
    report = evaluate(load_head(args.run_dir), x, y, class_names, ids=[str(p) for _, p, _ in rows["all"]])
    print(f"\n{args.data_dir} ({len(y)} images)\n" + format_report(report))
    out = args.run_dir / f"evaluate-{args.data_dir.resolve().name}.json"
    write_json(out, report)
    print(f"\nreport saved to {out}")
    return 0


def _export(args) -> int:
    from classifier.bundle import REPRESENTATIVE_PHOTOS, export_bundle
    from classifier.images import is_image_file

    photos = None
    if args.photos is not None:
        found = sorted(p for p in args.photos.rglob("*") if is_image_file(p))
        photos = found[::max(1, len(found) // REPRESENTATIVE_PHOTOS)]  # spread over the class folders
    result = export_bundle(args.run_dir, args.out, photos=photos,
                           on_step=lambda step: print(f"export: {step}", file=sys.stderr, flush=True))
    for name, status in result["formats"].items():
        print(f"  {name:12} {status}")
    print(f"bundle saved to {result['path']} ({result['bytes'] / 1e6:.1f} MB)")
    return 0


def _audit_rows(data_dir: Path, fractions, dataset: str) -> list[tuple]:
    """[(hash, path, label, split, dataset)] of a folder, split as `train` splits it."""
    splits, hashes = folder_splits(data_dir, fractions)
    return [(hashes[p], p, label, split, dataset) for split, by_label in splits.items()
            for label, paths in by_label.items() for p in paths]


def _audit(args) -> int:
    from classifier.audit import audit, cached_embeddings
    from classifier.features import FeatureCache
    from classifier.model_io import write_json
    from classifier.recipes import DEFAULT_RECIPE, feature_spec

    spec = feature_spec(DEFAULT_RECIPE, _backbone(args), weights_arg(args.weights), input_size=args.input_size)
    rows = _audit_rows(args.data_dir, args.split, str(args.data_dir))
    for other in args.also:
        rows += _audit_rows(other, args.split, str(other))
    cache = FeatureCache(args.cache)
    by_split: dict = {}
    for h, p, label, split, dataset in rows:
        by_split.setdefault(f"{dataset}|{split}", {}).setdefault(label, []).append(p)
    kept = {h for split_rows in _extract_splits(by_split, {r[1]: r[0] for r in rows}, spec, cache,
                                                args.extract_batch_size).values() for h, _, _ in split_rows}
    rows = [r for r in rows if r[0] in kept]
    x = cached_embeddings(spec, cache, [r[0] for r in rows])
    result = audit(x, [r[2] for r in rows], [str(r[1]) for r in rows], [r[3] for r in rows],
                   datasets=[r[4] for r in rows], paths=[r[1] for r in rows],
                   audited=[r[4] == str(args.data_dir) for r in rows], seed=args.seed)
    _print_audit(result, args.top)
    if args.json:
        write_json(args.json, result | {"spec": spec.to_dict(), "data_dir": str(args.data_dir)})
        print(f"\nfindings saved to {args.json}")
    return 0


def _print_audit(result: dict, top: int) -> None:
    issues = result["label_issues"]
    print(f"\nsuspected label errors: {len(issues)} (out-of-fold accuracy {result['oof_accuracy'] or 0:.1%})")
    for issue in issues[:top]:
        print(f"  {issue['score']:.3f}  {issue['given']} -> {issue['suggested']}  {issue['id']}")
    if len(issues) > top:
        print(f"  ... {len(issues) - top} more (--top, or --json for all)")
    print(f"\nnear-duplicate groups: {len(result['duplicates'])}")
    for group in result["duplicates"]:
        print(f"  similarity {group['similarity']:.3f}: " + ", ".join(group["ids"]))
    print(f"\nleaks (the same or near-same photo in two splits or datasets): {len(result['leaks'])}")
    for leak in result["leaks"]:
        a, b = leak["ids"]
        where = leak["splits"] if leak["datasets"][0] == leak["datasets"][1] else leak["datasets"]
        print(f"  {leak['similarity']:.3f}  {where[0]} {a}  ~  {where[1]} {b}")
    classes = result["classes"]
    print("\nclasses: " + ", ".join(f"{name} {n}" for name, n in classes["counts"].items()))
    for small in classes["small"]:
        print(f"  too small: {small['label']} ({small['count']} photos)")
    for pair in classes["similar"]:
        print(f"  often confused: {pair['labels'][0]} <-> {pair['labels'][1]} ({pair['rate']:.1%} of their photos)")


def _loose_photos(folder: Path) -> list[Path]:
    from classifier.data import is_junk
    from classifier.images import is_image_file

    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return sorted(p for p in folder.rglob("*") if is_image_file(p) and not is_junk(p.relative_to(folder).parts))


def _suggest(args) -> int:
    import numpy as np

    from classifier.audit import cached_embeddings
    from classifier.features import FeatureCache
    from classifier.labelling import (DEFAULT_STRATEGY, LABELLING_BACKBONE, MIN_LABELS_PER_CLASS, can_suggest,
                                      labelling_spec, next_to_label, suggest)
    from classifier.model_io import write_json

    strategy = args.strategy or DEFAULT_STRATEGY
    found = discover(args.data_dir)
    by_label: dict = {}
    for split_by_label in found.values():
        for label, paths in split_by_label.items():
            by_label.setdefault(label, []).extend(paths)
    class_names = sorted(by_label)
    photos = _loose_photos(args.unlabelled_dir)
    hashes = _hashes(found) | _hashes({"": {"": photos}})
    spec = labelling_spec(weights_arg(args.weights), input_size=args.input_size,
                          backbone=args.backbone or LABELLING_BACKBONE)
    print(f"backbone {spec.backbone}; {len(class_names)} classes, "
          f"{sum(len(p) for p in by_label.values())} labelled photos, {len(photos)} unlabelled")
    cache = FeatureCache(args.cache)
    rows = _extract_splits({"labelled": by_label, "unlabelled": {"": photos}}, hashes, spec, cache,
                           args.extract_batch_size)
    labelled_hashes = {h for h, _, _ in rows["labelled"]}
    unlabelled = [(h, p) for h, p, _ in rows["unlabelled"] if h not in labelled_hashes]
    if len(unlabelled) < len(rows["unlabelled"]):
        print(f"{len(rows['unlabelled']) - len(unlabelled)} unlabelled photos are also labelled: left out")
    x_labelled = cached_embeddings(spec, cache, [h for h, _, _ in rows["labelled"]])
    y = np.array([class_names.index(label) for _, _, label in rows["labelled"]], dtype=int)
    x_unlabelled = cached_embeddings(spec, cache, [h for h, _ in unlabelled])
    out = {"spec": spec.to_dict(), "class_names": class_names, "labelled": len(y), "unlabelled": len(unlabelled),
           "suggestions": None, "next": None}
    if not can_suggest(y, len(class_names)):
        print(f"\nno suggestions: every class needs at least {MIN_LABELS_PER_CLASS} labelled photos "
              f"(and there must be 2 classes)")
    elif unlabelled:
        s = suggest(x_labelled, y, x_unlabelled, num_classes=len(class_names), seed=args.seed)
        threshold = s.confidence_for(args.max_error)
        out["suggestions"] = [
            {"path": str(p), "suggested": class_names[k], "confidence": round(float(c), 4),
             "probabilities": {class_names[j]: round(float(q), 4) for j, q in enumerate(row)}}
            for (_, p), k, c, row in zip(unlabelled, s.labels, s.confidence, s.probabilities)]
        out["bulk_accept"] = {"max_error": args.max_error, "min_confidence": threshold,
                              "expected_error": None if threshold is None else s.expected_error(threshold),
                              "error_bound": None if threshold is None else s.error_bound(threshold),
                              "heldout_photos": 0 if threshold is None else s.heldout_count(threshold),
                              "photos": int((s.confidence >= threshold).sum()) if threshold is not None else 0,
                              "heldout_accuracy": float(s.heldout_correct.mean())}
        print(f"\nsuggestions for {len(unlabelled)} photos (held-out accuracy on the labelled photos "
              f"{s.heldout_correct.mean():.1%}), most confident first:")
        for row in sorted(out["suggestions"], key=lambda r: -r["confidence"])[:args.top]:
            print(f"  {row['confidence']:.3f}  {row['suggested']:20} {row['path']}")
        if threshold is None:
            print(f"bulk acceptance: no confidence keeps the error at or below {args.max_error:.0%} with 95 % "
                  f"confidence on the held-out photos (label more)")
        else:
            b = out["bulk_accept"]
            print(f"bulk acceptance: {b['photos']} photos at confidence >= {threshold:.3f}, expected error "
                  f"{b['expected_error']:.1%} (at most {b['error_bound']:.1%}; {b['heldout_photos']} held-out photos)")
    if args.next:
        chosen = next_to_label(x_labelled, y, x_unlabelled, args.next, num_classes=len(class_names),
                               strategy=strategy, seed=args.seed)
        out["next"] = [str(unlabelled[i][1]) for i in chosen]
        out["strategy"] = strategy if can_suggest(y, len(class_names)) or strategy == "random" else "cover"
        print(f"\nlabel next ({out['strategy']}):")
        for path in out["next"]:
            print(f"  {path}")
    if args.json:
        write_json(args.json, out)
        print(f"\nsaved to {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from classifier.backbones import WeightsMissingError

    args = _parser().parse_args(argv)
    try:
        return {"train": _train, "predict": _predict, "evaluate": _evaluate, "export": _export,
                "audit": _audit, "suggest": _suggest}[args.command](args)
    except (WeightsMissingError, FileNotFoundError, ValueError) as exc:  # a user's mistake: the message suffices
        print(f"error: {exc}", file=sys.stderr)
        return 2
