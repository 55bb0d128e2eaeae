# slaguard service image: `docker build -t slaguard .` then, with the SQLite store on a volume,
# `docker run -p 8000:8000 -v slaguard-data:/data -v "$PWD/sla.yaml:/config/sla.yaml:ro" \
#   -e SLAGUARD_RULES=/config/sla.yaml slaguard`
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/slaguard/bin:$PATH
RUN python -m venv /opt/slaguard
WORKDIR /src
# The dependencies come from the lock alone, before any source: a code change reuses this layer.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY integrations ./integrations
COPY sandbox ./sandbox
COPY alerts ./alerts
COPY migrations ./migrations
RUN pip install --no-deps . && pip check

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/slaguard/bin:$PATH \
    DATABASE_URL=sqlite:////data/slaguard.db
# The same base image at the same path, so the virtual environment's interpreter link holds.
COPY --from=build /opt/slaguard /opt/slaguard
RUN useradd --system --uid 10001 --home-dir /data slaguard \
    && mkdir -p /data /config && chown slaguard /data
USER slaguard
WORKDIR /data
# The SQLite store (and its scheduler lock file) live here; a new named volume starts owned
# by the slaguard user because /data is made and chowned above, before the declaration.
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
CMD ["slaguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
