# syntax=docker/dockerfile:1
# The profond prediction server: the API, Prometheus metrics and the browser page.
#
#   docker build --target runtime -t profond .          # no model inside: mount one at /model
#   docker run -p 8080:8080 -v "$PWD/model:/model:ro" profond
#   docker build -t profond:baked .                     # bakes ./model (a saved-model folder)
#
# Stages: builder (compilers and pip caches stay here), runtime (the virtual environment only,
# a non-root user), baked (runtime plus the model folder next to this file).

ARG PYTHON_VERSION=3.11

# ---- builder: a virtual environment with CPU-only torch and profond ---------------------------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# torch from the CPU wheel index first: the default index would bring a multi-GB CUDA build.
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# A regular (non-editable) install: the runtime stage copies /opt/venv and not /src.
RUN pip install --no-cache-dir .

# ---- runtime: the environment, a non-root user, no build tools -------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime

LABEL org.opencontainers.image.title="profond" \
      org.opencontainers.image.description="profond prediction server (FastAPI, CPU)" \
      org.opencontainers.image.licenses="MIT"

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROFOND_HOME=/home/profond/.profond \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system --gid 10001 profond \
    && useradd --system --uid 10001 --gid profond --create-home --home-dir /home/profond profond \
    && mkdir -p /model \
    && chown profond:profond /model

COPY --from=builder /opt/venv /opt/venv

# Numeric, so that Kubernetes runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/profond

# Cloud Run sends traffic to 8080 unless told otherwise.
EXPOSE 8080

# python's urllib, because the slim image has neither curl nor wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["profond"]
# 0.0.0.0: inside a container, the loopback default would be unreachable from the host.
CMD ["serve", "--model-dir", "/model", "--host", "0.0.0.0", "--port", "8080"]

# ---- baked: the runtime with a trained model inside (what CI pushes and deploys) -------------
FROM runtime AS baked

COPY --chown=10001:10001 model/ /model/
