FROM python:3.11-slim
WORKDIR /app
# ffmpeg converts uploaded prompts (pbx.ivr.audio, through pydub)
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pbx pbx
COPY admin_api admin_api
COPY alembic.ini ./
RUN pip install --no-cache-dir --no-deps .
CMD ["pbx", "up"]
