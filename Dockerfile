FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pbx pbx
COPY admin_api admin_api
COPY alembic.ini ./
RUN pip install --no-cache-dir --no-deps .
CMD ["pbx", "up"]
