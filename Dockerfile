# One image for web, workers and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MENAGERIE_DATA_DIR=/data MEDIA_ROOT=/data/media FEATURES_DIR=/data/features ARTIFACTS_DIR=/data/artifacts \
    KERAS_HOME=/data/keras
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# The volume mount points exist in the image owned by the app user: Docker copies that ownership into a new
# named volume (a missing mount point would be created owned by root, and the app could not write photos).
RUN useradd --create-home --uid 1000 menagerie \
    && mkdir -p /data/media /data/features /data/artifacts /data/keras \
    && chown -R menagerie:menagerie /data \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput
USER menagerie

EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
