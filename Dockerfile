# The Snowfall image: both commands, static, in a FROM scratch image that runs as a non-root user.
#
#   docker build -t snowfall .
#   docker run -d -p 8910:8910 -v snowfall:/var/lib/snowfall --stop-timeout 20 snowfall
#       snowfall serve, its generator id leased from /var/lib/snowfall/leases.db (SQLite)
#   docker run … snowfall serve --db postgres://… --group orders        (SNOWFALL_DB from a secret)
#   docker run … --entrypoint snowflake_start_server snowfall --address=0.0.0.0 --dc=1 --worker=7 \
#       --state-file=/var/lib/snowfall/psf.state                          the pysnowflake drop-in
#
# Shutdown: SIGTERM makes the server stop accepting, finish requests in flight (up to 10 s, the
# server's shutdown grace) and release its lease; give it 20 s before SIGKILL (--stop-timeout 20,
# compose stop_grace_period: 20s, Kubernetes terminationGracePeriodSeconds: 30).
#
# Offline builds: the build stage needs the Go image (GO_IMAGE) and Go modules. Where no registry
# is reachable, .ci/go-image.sh makes a local Go image from the host's toolchain under the same tag,
# and .ci/container.sh builds this whole file with it, the host's module cache mounted as its
# GOPROXY (podman build --volume …:/gomodcache), then checks the image's size and contents.

ARG GO_IMAGE=docker.io/library/golang:1.26
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=(devel)
RUN VERSION="$VERSION" deploy/container/rootfs.sh /rootfs

# final stage: the two commands, the CA certificates and the volume's directory, nothing else
FROM scratch
COPY --from=build /rootfs/usr/local/bin/ /usr/local/bin/
COPY --from=build /rootfs/etc/ssl/certs/ /etc/ssl/certs/
COPY --from=build --chown=65532:65532 /rootfs/var/lib/snowfall/ /var/lib/snowfall/
USER 65532:65532
ENV PATH=/usr/local/bin HOME=/var/lib/snowfall XDG_STATE_HOME=/var/lib SNOWFALL_HOST=0.0.0.0
VOLUME /var/lib/snowfall
WORKDIR /var/lib/snowfall
EXPOSE 8910
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["snowfall", "probe", "--server", "http://127.0.0.1:8910", "/readyz"]
ENTRYPOINT ["snowfall"]
CMD ["serve"]
