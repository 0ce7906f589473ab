# wsbridge in a container: a static binary on scratch, non-root.
#   docker build -t wsbridge .
#   docker run -p 8080:8080 -e WSBRIDGE_LISTEN=:8080 -e WSBRIDGE_TARGET=vnc:5900 wsbridge
# docker_test.go runs this file's `go build` line and checks the result.

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies in their own layer: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no libc, no dynamic loader), reproducible paths, no symbol table.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/wsbridge .
# The state directory, owned by the runtime user (scratch has no mkdir).
RUN mkdir -p /out/var/lib/wsbridge/acme && chown -R 65532:65532 /out/var/lib/wsbridge

FROM scratch
LABEL org.opencontainers.image.title="wsbridge" \
      org.opencontainers.image.description="WebSocket-to-TCP bridge, a drop-in replacement for websockify" \
      org.opencontainers.image.documentation="README.md, section Running as a service"
# CA roots: ACME (Let's Encrypt) and --ssl-target verify certificates.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/wsbridge /wsbridge
COPY --from=build --chown=65532:65532 /out/var/lib/wsbridge /var/lib/wsbridge
# Not root: the "nonroot" user of distroless images. Ports below 1024 need
# --cap-add NET_BIND_SERVICE or a port mapping (-p 443:8080).
USER 65532:65532
# ACME certificates and account key survive the container; mount token
# files and certificates read-only elsewhere (-v ./tokens:/etc/wsbridge:ro).
VOLUME /var/lib/wsbridge
# Metrics and health checks on their own port (publish it only to the
# monitoring network: -p 127.0.0.1:9180:9180).
ENV WSBRIDGE_ACME_CACHE=/var/lib/wsbridge/acme \
    WSBRIDGE_METRICS_LISTEN=:9180
EXPOSE 8080 9180
# scratch has no shell or curl: the binary probes its own /healthz, on
# the address WSBRIDGE_METRICS_LISTEN gives.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/wsbridge", "health"]
# Exec form: wsbridge is PID 1 and receives SIGTERM itself (closing
# sessions with 1001); a shell would swallow it.
ENTRYPOINT ["/wsbridge"]
