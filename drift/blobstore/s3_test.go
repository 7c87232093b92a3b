package blobstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// s3Status answers every request as an S3 endpoint refusing it with the
// given status and code would.
func s3Status(status int, code string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>refused</Message><RequestId>r1</RequestId></Error>`))
		}
	}
}

// TestS3Faults: an S3-compatible endpoint on loopback that refuses, has
// nothing, or never answers. Each is an error naming the bucket and key,
// wrapping its sentinel, and showing none of the URL's query.
func TestS3Faults(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never look for an instance's credentials
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name    string
		handler http.HandlerFunc
		publish bool
		want    error
		says    []string
	}{
		{name: "forbidden read", handler: s3Status(403, "AccessDenied"), want: ErrPermission,
			says: []string{"s3://snapshots/team/prod/latest", "bucket snapshots", "403/AccessDenied"}},
		{name: "forbidden publish", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s3Status(404, "NoSuchKey")(w, r) // nothing there yet: reading is allowed
				return
			}
			s3Status(403, "AccessDenied")(w, r)
		}, publish: true, want: ErrPermission,
			says: []string{"writing snapshot s3://snapshots/team/prod/20261130T051415Z.json.gz", "bucket snapshots"}},
		{name: "no such key", handler: s3Status(404, "NoSuchKey"), want: ErrNotFound,
			says: []string{"s3://snapshots/team/prod/latest", "no latest pointer", "bucket snapshots"}},
		{name: "no such bucket", handler: s3Status(404, "NoSuchBucket"), want: ErrNotFound, says: []string{"bucket snapshots"}},
		{name: "never answers", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, want: ErrTimeout, says: []string{"s3://snapshots/team/prod/latest", "bucket snapshots did not answer in time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			const secret = "kms-key-SENTINEL"
			u := "s3://snapshots/team/prod?endpoint=" + srv.URL + "&region=us-east-1&use_path_style=true&disable_https=true&anonymous=true&kmskeyid=" + secret
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var err error
			if tt.publish {
				_, err = Publish(ctx, u, t0, snapshotJSON(1), 0)
			} else {
				_, _, err = Read(ctx, u, 0)
			}
			t.Log(err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
			for _, w := range tt.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, leak := range []string{secret, "endpoint=", srv.URL} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q shows %q", err, leak)
				}
			}
		})
	}
}
