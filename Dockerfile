# ledgersync — production image. Used by docker-compose.yml for web, worker and beat.

# --- Stage 1: front-end libraries (htmx, Pico CSS) from package.json / package-lock.json.
# Django serves them as its own static files (no CDN), so only node_modules leaves this stage.
FROM python:3.11-slim AS assets
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- Stage 2: the application.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3
# Import the code from /app (where templates/ and static/ live) rather than the copy pip puts in
# site-packages: `celery -A syncsvc` does not keep the working directory on sys.path.
ENV PYTHONPATH=/app

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app
WORKDIR /app

# pyproject.toml declares the dependencies.
COPY . .
RUN pip install .

COPY --from=assets /app/node_modules ./node_modules

# Settings refuse to load without SECRET_KEY when DEBUG is off; this throwaway key exists only
# for this RUN and is not kept in the image.
RUN DEBUG=0 SECRET_KEY=collectstatic-build-only-not-secret \
    CREDENTIALS_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1idWlsZC1vbmx5LW5vdC1zZWNyZXQ= \
    python manage.py collectstatic --no-input \
    && mkdir -p var/media \
    && chown -R app:app var

USER app
EXPOSE 8000
# Workers: WEB_CONCURRENCY (gunicorn reads it).
CMD ["gunicorn", "syncsvc.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
