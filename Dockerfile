FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY common common
COPY telephony telephony
COPY screenpop screenpop
RUN pip install --no-cache-dir . && useradd --system --home /app screenpop
USER screenpop
