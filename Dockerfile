# One image for web, workers and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MENAGERIE_DATA_DIR=/data MEDIA_ROOT=/data/media FEATURES_DIR=/data/features ARTIFACTS_DIR=/data/artifacts \
    KERAS_HOME=/data/keras
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --create-home --uid 1000 menagerie && mkdir -p /data && chown menagerie /data \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput
USER menagerie

EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "64"]
