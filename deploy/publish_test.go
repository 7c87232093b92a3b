package deploy_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// documents returns the YAML documents of a manifest file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, d := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(d, "kind:") {
			out = append(out, []byte(d))
		}
	}
	return out
}

// decodeKind decodes the one document of path whose kind is kind into v.
func decodeKind(t *testing.T, path, kind string, v any) {
	t.Helper()
	found := 0
	for _, d := range documents(t, path) {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if meta.Kind == kind {
			found++
			if err := yaml.UnmarshalStrict(d, v); err != nil {
				t.Fatalf("%s: %s: %v", path, kind, err)
			}
		}
	}
	if found != 1 {
		t.Fatalf("%s: %d documents of kind %s, want 1", path, found, kind)
	}
}

// publishJob returns the publishing CronJob and its ConfigMap.
func publishJob(t *testing.T) (*batchv1.CronJob, *corev1.ConfigMap) {
	t.Helper()
	var cj batchv1.CronJob
	var cm corev1.ConfigMap
	decodeKind(t, "publish-cronjob.yaml", "CronJob", &cj)
	decodeKind(t, "publish-cronjob.yaml", "ConfigMap", &cm)
	return &cj, &cm
}

// flagValue returns the value of --name=VALUE in args, and whether it is there once.
func flagValue(args []string, name string) (string, bool) {
	var vals []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) != 1 {
		return "", false
	}
	return vals[0], true
}

// TestPublishCronJobManifest checks what a reviewer of the publishing job
// would: it runs hourly, one at a time, as the ServiceAccount rbac.yaml
// binds to the read-only role; it is locked down like the report's job; it
// signs for prod with the key from a required Secret; it publishes to a
// bucket URL; and no credential is written in the manifest.
func TestPublishCronJobManifest(t *testing.T) {
	cj, cm := publishJob(t)
	spec := cj.Spec.JobTemplate.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	var binding rbacv1.ClusterRoleBinding
	decodeKind(t, "rbac.yaml", "ClusterRoleBinding", &binding)
	bound := slices.ContainsFunc(binding.Subjects, func(s rbacv1.Subject) bool {
		return s.Kind == "ServiceAccount" && s.Name == spec.ServiceAccountName && s.Namespace == cj.Namespace
	})

	signKey, _ := flagValue(c.Args, "sign-key")
	output, _ := flagValue(c.Args, "output")
	kubeconfig, _ := flagValue(c.Args, "kubeconfig")
	context, _ := flagValue(c.Args, "context")
	keep, _ := flagValue(c.Args, "keep")
	mountOf := func(path string) (corev1.VolumeMount, bool) {
		var best corev1.VolumeMount
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(path, m.MountPath+"/") && len(m.MountPath) > len(best.MountPath) {
				best = m
			}
		}
		return best, best.Name != ""
	}
	volume := func(name string) corev1.Volume {
		for _, v := range spec.Volumes {
			if v.Name == name {
				return v
			}
		}
		return corev1.Volume{}
	}
	keyVar, keyFromEnv := strings.CutPrefix(signKey, "env:")
	var keyRef *corev1.SecretKeySelector
	for _, e := range c.Env {
		if e.Name == keyVar && e.ValueFrom != nil {
			keyRef = e.ValueFrom.SecretKeyRef
		}
	}
	environment, _ := flagValue(c.Args, "environment")
	cfgMount, _ := mountOf(kubeconfig)
	cfgVolume := volume(cfgMount.Name)
	sc := c.SecurityContext
	psc := spec.SecurityContext

	for _, check := range []struct {
		name string
		ok   bool
	}{
		{"runs the snapshot command", len(c.Args) > 0 && c.Args[0] == "snapshot"},
		{"every hour (a fixed minute, every hour of every day)", cj.Spec.Schedule == "7 * * * *"},
		{"one run at a time", cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent},
		{"a run that cannot start soon is skipped", cj.Spec.StartingDeadlineSeconds != nil && *cj.Spec.StartingDeadlineSeconds <= 3600},
		{"a run is bounded in time", cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds != nil && *cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds < 3600},
		{"runs as the ServiceAccount rbac.yaml binds to the reader role", spec.ServiceAccountName != "" && bound && binding.RoleRef.Name == "driftgate-reader"},
		{"non-root", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot && psc.RunAsUser != nil && *psc.RunAsUser != 0},
		{"RuntimeDefault seccomp", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{"read-only root filesystem", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		{"all capabilities dropped", sc != nil && sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"})},
		{"memory limited", !c.Resources.Limits.Memory().IsZero()},
		{"--sign-key names an environment variable (a Secret volume under fsGroup is group-readable, which driftgate refuses)", keyFromEnv && keyVar != ""},
		{"set from the Secret driftgate-sign-key", keyRef != nil && keyRef.Name == "driftgate-sign-key" && keyRef.Key != ""},
		{"which is required (no unsigned publishing when it is missing)", keyRef != nil && (keyRef.Optional == nil || !*keyRef.Optional)},
		{"signed for environment prod", environment == "prod"},
		{"publishes to a bucket", strings.HasPrefix(output, "s3://") || strings.HasPrefix(output, "gs://") || strings.HasPrefix(output, "azblob://")},
		{"under a prefix ending in prod", strings.HasSuffix(strings.SplitN(output, "?", 2)[0], "/prod")},
		{"prunes old snapshots", keep != "" && keep != "0"},
		{"snapshots the cluster as context prod", context == "prod"},
		{"from the publish ConfigMap's kubeconfig", cfgVolume.ConfigMap != nil && cfgVolume.ConfigMap.Name == cm.Name &&
			cm.Data[strings.TrimPrefix(kubeconfig, cfgMount.MountPath+"/")] != ""},
		{"the kubeconfig is the pod's own ServiceAccount in its own cluster", strings.Contains(cm.Data["prod.kubeconfig"], "server: https://kubernetes.default.svc") &&
			strings.Contains(cm.Data["prod.kubeconfig"], "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token") &&
			strings.Contains(cm.Data["prod.kubeconfig"], "current-context: prod")},
		{"never the node's instance role", slices.Contains(c.Env, corev1.EnvVar{Name: "AWS_EC2_METADATA_DISABLED", Value: "true"})},
	} {
		if !check.ok {
			t.Errorf("the publishing CronJob fails: %s", check.name)
		}
	}

	// Credentials come from the cloud's chain or a Secret, never the manifest.
	for _, e := range c.Env {
		name := strings.ToUpper(e.Name)
		if strings.Contains(name, "SECRET") || strings.Contains(name, "KEY") || strings.Contains(name, "TOKEN") || strings.Contains(name, "PASSWORD") {
			if e.Value != "" {
				t.Errorf("env %s holds a literal value; credentials belong in a Secret or workload identity", e.Name)
			}
		}
	}
	for _, f := range c.EnvFrom {
		if f.ConfigMapRef != nil {
			t.Errorf("env from ConfigMap %s: credentials belong in a Secret", f.ConfigMapRef.Name)
		}
	}
	if strings.Contains(output, "@") {
		t.Errorf("the bucket URL %q holds credentials", output)
	}
	if !slices.Contains(kustomizationResources(t), "cronjob.yaml") {
		t.Errorf("kustomization.yaml lost the report's CronJob")
	}
}

func kustomizationResources(t *testing.T) []string {
	t.Helper()
	var k struct {
		Resources []string `json:"resources"`
	}
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return k.Resources
}
