# syntax=docker/dockerfile:1
# skconn's container image: the static musl binary of a release, CA certificates, a shell (GitLab
# CI runs job scripts inside the image), and a non-root user.
#
# The release workflow builds it for linux/amd64 and linux/arm64 from the release's binaries,
# placed at dist/<arch>/skconn (arch as Docker names it: amd64, arm64):
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/skconn/skconn:X.Y.Z .
# Use it:
#   docker run --rm -v "$PWD:/work" ghcr.io/skconn/skconn:X.Y.Z plan
FROM alpine:3.22@sha256:14358309a308569c32bdc37e2e0e9694be33a9d99e68afb0f5ff33cc1f695dce

ARG TARGETARCH
ARG VERSION=unreleased
ARG REVISION=unknown

LABEL org.opencontainers.image.title="skconn" \
      org.opencontainers.image.description="GitOps for Scalekit custom connectors" \
      org.opencontainers.image.source="https://github.com/skconn/skconn" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

RUN apk add --no-cache ca-certificates \
 && adduser -D -u 10001 -h /home/skconn skconn

COPY --chmod=0755 dist/${TARGETARCH}/skconn /usr/local/bin/skconn

USER 10001:10001
WORKDIR /work
ENTRYPOINT ["skconn"]
