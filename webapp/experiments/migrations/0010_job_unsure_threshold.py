import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('experiments', '0009_prediction_outlives_its_job'),
    ]

    operations = [
        migrations.AddField(
            model_name='trainingjob',
            name='progress_step',
            field=models.CharField(blank=True, help_text='What the training progress counts: "epochs" (article), "search" trials or "fine-tune" epochs', max_length=20),
        ),
        migrations.AddField(
            model_name='trainingjob',
            name='unsure_threshold',
            field=models.FloatField(blank=True, help_text='Edited confidence threshold below which predictions answer "unsure"; empty = the one the job chose on validation (saved with the model)', null=True),
        ),
        migrations.AddField(
            model_name='trainingjob',
            name='threshold_edited_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='trainingjob',
            name='threshold_edited_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
