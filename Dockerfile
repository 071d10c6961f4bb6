# One image for every Anxin service; the compose file picks the subcommand
# (docker run IMAGE ingest | alerts | api | db migrate | devices broker-auth | ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, read from pyproject.toml, so that this layer is rebuilt only when they
# change, not on every source edit. All of them ship manylinux wheels: no compiler needed.
COPY pyproject.toml /tmp/anxin/pyproject.toml
RUN python -c "import tomllib; deps = tomllib.load(open('/tmp/anxin/pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (a regular, non-editable install; migrations and models are package data).
COPY . /tmp/anxin
RUN pip install --no-deps /tmp/anxin \
    && rm -rf /tmp/anxin

# Unprivileged runtime user. /var/lib/anxin/mosquitto-auth belongs to uid/gid 1883, the
# 'mosquitto' user of the eclipse-mosquitto image: the compose 'broker-auth' service runs as
# 1883:1883 and writes the broker's password and ACL files there, so Mosquitto can read them
# without their being world-readable. A new named volume mounted there takes this ownership.
RUN groupadd --gid 10001 anxin \
    && useradd --uid 10001 --gid anxin --home-dir /home/anxin --create-home \
        --shell /usr/sbin/nologin anxin \
    && install -d -o 1883 -g 1883 -m 0750 /var/lib/anxin/mosquitto-auth

USER 10001:10001
WORKDIR /home/anxin

ENTRYPOINT ["anxin"]
CMD ["--help"]
