package deploy_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/driftgate/driftgate/fixtures/s3bed"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// keyPair writes a fresh ECDSA P-256 key pair as PEM and returns the
// private key's PEM and the public key's file.
func keyPair(t *testing.T) (private []byte, publicFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	publicFile = filepath.Join(t.TempDir(), "prod.pub")
	if err := os.WriteFile(publicFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), publicFile
}

// runEnv runs driftgate with env added to an environment stripped of the
// machine's AWS settings, and fails the test when any output holds one of
// the server's credentials or secret.
func runEnv(t *testing.T, s *s3bed.Server, env []string, secret string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(driftgate(t), args...)
	cmd.Dir = t.TempDir()
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, id := range []s3bed.Identity{s.Admin, s.Publisher, s.Reader, s.Outsider} {
		for _, v := range []string{id.AccessKey, id.SecretKey, secret} {
			if v != "" && strings.Contains(out.String()+errOut.String(), v) {
				t.Errorf("driftgate %s printed a credential or the signing key", strings.Join(args, " "))
			}
		}
	}
	return code, out.String(), errOut.String()
}

// TestPublishCronJobPublishesSignedSnapshot runs the publishing CronJob's
// own command, as its pod would: with a token of the deployed ServiceAccount
// (bound only to rbac.yaml's read-only role) in place of the pod's, the
// ConfigMap's kubeconfig, the signing key from the Secret in its
// environment variable, and the publisher's bucket keys, against a real S3
// server in place of the bucket. The gate then reads prod from the bucket
// as CI would, with --trust and --max-age, and accepts it; with another key
// it refuses it, exit 2.
func TestPublishCronJobPublishesSignedSnapshot(t *testing.T) {
	bed := testbed.Need(t)
	s := s3bed.Need(t, s3bed.Options{})
	applyDeploy(t, bed)
	cj, cm := publishJob(t)
	spec := cj.Spec.JobTemplate.Spec.Template.Spec
	c := spec.Containers[0]

	// The pod's files: the ServiceAccount token and CA where Kubernetes
	// mounts them, and the ConfigMap where the job mounts it.
	root := t.TempDir()
	tok, err := bed.Prod.Clientset.CoreV1().ServiceAccounts(cj.Namespace).CreateToken(context.Background(), spec.ServiceAccountName,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa := filepath.Join(root, "serviceaccount")
	if err := os.MkdirAll(sa, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"token": []byte(tok.Status.Token), "ca.crt": bed.Prod.Config.CAData} {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.VolumeMounts) != 1 {
		t.Fatalf("the job mounts %d volumes; this test materializes the ConfigMap only", len(c.VolumeMounts))
	}
	mount := c.VolumeMounts[0].MountPath
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range cm.Data {
		data = strings.ReplaceAll(data, "https://kubernetes.default.svc", bed.Prod.Config.Host)
		data = strings.ReplaceAll(data, "/var/run/secrets/kubernetes.io/serviceaccount", sa)
		if err := os.WriteFile(filepath.Join(etc, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	prefix := s.URL(s3bed.Bucket, "clusters/prod")
	var args []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--output=") {
			a = "--output=" + prefix
		}
		args = append(args, strings.ReplaceAll(a, mount, etc))
	}
	private, public := keyPair(t)
	env := s.Publisher.Env() // what the optional Secret driftgate-bucket-credentials would give
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "driftgate-sign-key":
			env = append(env, e.Name+"="+string(private))
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		default:
			t.Fatalf("env %s comes from somewhere this test does not provide", e.Name)
		}
	}
	code, _, stderr := runEnv(t, s, env, string(private), args...)
	if code != 0 {
		t.Fatalf("the publishing job's command: exit %d\n%s", code, stderr)
	}
	objs, err := s.List(s3bed.Bucket, "clusters/prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("the bucket holds %v; want one snapshot and latest", objs)
	}

	// CI: dev live, prod from the bucket, trusted key and a maximum age.
	gate := func(trust string) (int, string) {
		code, out, stderr := runEnv(t, s, s.Reader.Env(), string(private), "gate", "--kubeconfig", bed.Kubeconfig,
			"--dev", "context:dev", "--prod", prefix, "--trust", trust, "--max-age", "2h")
		return code, out + stderr
	}
	if code, out := gate(public); code == 2 {
		t.Errorf("CI reading the published snapshot with the prod key: exit 2, want a verdict\n%s", out)
	}
	_, other := keyPair(t)
	if code, out := gate(other); code != 2 || !strings.Contains(out, "sign") {
		t.Errorf("CI trusting another key: exit %d, want 2 naming the signature\n%s", code, out)
	}
}
