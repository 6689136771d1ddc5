# imagine-bot as a container: slim, non-root, /healthz as its health check.
#   docker build -t imagine-bot .
#   docker run --env-file .env -p 127.0.0.1:8080:8080 -v imagine-data:/data imagine-bot
# The web server listens on 0.0.0.0 inside the container, so IMAGINE_WEB_TOKEN must be set
# (the bot refuses to start without it); publish the port on 127.0.0.1 or behind a proxy.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /home/imagine imagine \
    && mkdir /data && chown imagine /data
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    IMAGINE_DATA_DIR=/data \
    IMAGINE_HTTP_HOST=0.0.0.0 \
    IMAGINE_HTTP_PORT=8080
USER imagine
WORKDIR /home/imagine
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["imagine-bot"]
CMD ["run"]
