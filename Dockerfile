# The two Python services (telephony, screenpop) in one image; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY common common
COPY telephony telephony
COPY screenpop screenpop
RUN pip install --no-cache-dir . && useradd --system --home /app screenpop
USER screenpop
