package drift

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestDiffFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dev, prod string
		want      []FieldDiff
	}{
		{
			name: "equal quantities, numbers and empty versus absent",
			dev: `spec:
  replicas: 2
  ratio: 1.0
  template:
    spec:
      containers:
      - name: app
        resources: {limits: {cpu: 1000m, memory: 256Mi}, requests: {cpu: "0.5"}}
      volumes: []
      nodeSelector: {}`,
			prod: `spec:
  replicas: 2.0
  ratio: 1
  template:
    spec:
      containers:
      - name: app
        resources: {limits: {cpu: "1", memory: 268435456}, requests: {cpu: 500m}}`,
		},
		{
			name: "named lists pair by name, not position",
			dev: `containers:
- {name: sidecar, image: envoy:1}
- {name: app, image: app:2, env: [{name: B, value: "2"}, {name: A, value: "1"}]}`,
			prod: `containers:
- {name: app, image: app:1, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
- {name: sidecar, image: envoy:1}`,
			want: []FieldDiff{{Path: "containers[name=app].image", Dev: "app:2", Prod: "app:1"}},
		},
		{
			name: "item only on one side",
			dev:  `env: [{name: A, value: "1"}, {name: DEBUG, value: "true"}]`,
			prod: `env: [{name: A, value: "1"}]`,
			want: []FieldDiff{{Path: "env[name=DEBUG]", Dev: map[string]any{"name": "DEBUG", "value": "true"}, Prod: nil}},
		},
		{
			name: "volume mounts pair by mount path",
			dev:  `volumeMounts: [{name: data, mountPath: /a}, {name: data, mountPath: /b, readOnly: true}]`,
			prod: `volumeMounts: [{name: data, mountPath: /b}, {name: data, mountPath: /a}]`,
			want: []FieldDiff{{Path: "volumeMounts[mountPath=/b].readOnly", Dev: true, Prod: nil}},
		},
		{
			name: "positional lists and keys with dots",
			dev:  `args: [--a, --b]` + "\n" + `metadata: {annotations: {example.com/x: "1"}}`,
			prod: `args: [--a, --c, --d]` + "\n" + `metadata: {annotations: {example.com/x: "2"}}`,
			want: []FieldDiff{
				{Path: "args[1]", Dev: "--b", Prod: "--c"},
				{Path: "args[2]", Dev: nil, Prod: "--d"},
				{Path: `metadata.annotations["example.com/x"]`, Dev: "1", Prod: "2"},
			},
		},
		{
			name: "quantities that differ, and a string that only looks like one",
			dev:  `resources: {limits: {memory: 512Mi}}` + "\n" + `labels: {size: "1"}`,
			prod: `resources: {limits: {memory: 256Mi}}` + "\n" + `labels: {size: "1.0"}`,
			want: []FieldDiff{
				{Path: "labels.size", Dev: "1", Prod: "1.0"},
				{Path: "resources.limits.memory", Dev: "512Mi", Prod: "256Mi"},
			},
		},
		{
			name: "type change",
			dev:  `port: "8080"`,
			prod: `port: 8080`,
			want: []FieldDiff{{Path: "port", Dev: "8080", Prod: int64(8080)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := DiffFields(decodeYAML(t, tt.dev), decodeYAML(t, tt.prod))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DiffFields (-want +got):\n%s", diff)
			}
		})
	}
}

func decodeYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	obj := map[string]any{}
	if err := yamlUnmarshal([]byte(s), &obj); err != nil {
		t.Fatal(err)
	}
	return canonicalNumbers(obj).(map[string]any)
}

func yamlUnmarshal(b []byte, v *map[string]any) error { return yaml.Unmarshal(b, v) }

func TestValueAt(t *testing.T) {
	t.Parallel()
	obj := decodeYAML(t, `spec:
  containers: [{name: app, image: "a:1", args: [x, "y"], ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP, name: tcp}]}]
metadata: {labels: {app.kubernetes.io/name: web}, finalizers: [keep]}`)
	tests := map[string]any{
		"spec.containers[name=app].image":           "a:1",
		"spec.containers[name=app].args[1]":         "y",
		`metadata.labels["app.kubernetes.io/name"]`: "web",
		"metadata.finalizers[=keep]":                "keep",
		"spec.containers[name=other].image":         nil,
		"spec.nothing.here":                         nil,
	}
	for path, want := range tests {
		if got := ValueAt(obj, path); !cmp.Equal(want, got) {
			t.Errorf("ValueAt(%s) = %v, want %v", path, got, want)
		}
	}
}
