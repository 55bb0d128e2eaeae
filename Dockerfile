# slaguard service image: `docker build -t slaguard .` then
# `docker run -p 8000:8000 -v $PWD/sla.yaml:/config/sla.yaml -e SLAGUARD_RULES=/config/sla.yaml slaguard`
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY integrations ./integrations
COPY alerts ./alerts
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/slaguard.db
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data slaguard \
    && mkdir -p /data /config && chown slaguard /data
USER slaguard
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"
CMD ["slaguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
