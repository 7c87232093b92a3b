# A static driftgate in a distroless image, for the nightly report CronJob
# (deploy/). Not built by this project's CI: its machines have no Docker engine.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/driftgate/driftgate/internal/version.Version=${VERSION}" \
      -o /out/driftgate ./cmd/driftgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/driftgate /usr/local/bin/driftgate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/driftgate"]
