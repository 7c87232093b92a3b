package incident

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/driftgate/driftgate/internal/textsafe"
)

// KubeEvents returns an EventSink that creates an events.k8s.io/v1 Event in
// the cluster of the named environment, in the namespace most of the
// overridden findings are in, regarding the first such object.
func KubeEvents(clientFor func(environment string) (kubernetes.Interface, error)) EventSink {
	return func(ctx context.Context, environment string, r *Record) error {
		cs, err := clientFor(environment)
		if err != nil {
			return permanent("kubernetes-event hook: %v", err)
		}
		ev := EventFor(r)
		_, err = cs.EventsV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{FieldManager: "driftgate"})
		if apierrors.IsAlreadyExists(err) {
			return nil // delivered before: the name is the incident id
		}
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			return permanent("kubernetes-event hook: %v", err)
		}
		if err != nil {
			return fmt.Errorf("kubernetes-event hook: %w", err)
		}
		return nil
	}
}

// EventFor builds the Event about a record; its name is derived from the
// incident id, so a retried delivery cannot create a second one.
func EventFor(r *Record) *eventsv1.Event {
	ns := r.Namespace()
	var regarding corev1.ObjectReference
	for _, f := range r.Findings {
		if f.Object.Namespace == ns {
			regarding = corev1.ObjectReference{Kind: f.Object.Kind, Namespace: ns, Name: f.Object.Name}
			if f.Object.Group != "" {
				regarding.APIVersion = f.Object.Group + "/v1"
			} else {
				regarding.APIVersion = "v1"
			}
			break
		}
	}
	if regarding.Name == "" {
		regarding = corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: ns}
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "driftgate"
	}
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      strings.ToLower(r.ID),
			Namespace: ns,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "driftgate", "driftgate.dev/incident": strings.ToLower(r.ID)},
		},
		EventTime:           metav1.NewMicroTime(r.Time.Truncate(time.Microsecond)),
		ReportingController: "driftgate.dev/gate",
		ReportingInstance:   truncate(host, 128),
		Action:              "Override",
		Reason:              "GateOverridden",
		Type:                corev1.EventTypeWarning,
		Regarding:           regarding,
		// kubectl get events and describe print it to terminals: the
		// reason and names in it are the overrider's and the clusters' text.
		Note: truncate(textsafe.Line(r.SummaryLine()), 1000),
	}
}

// SelfSubjectReview asks the API server of cs who it authenticates cs's
// credentials as (authentication.k8s.io/v1, Kubernetes 1.28 and later):
// the user and groups override.allowedBy is checked against. by says which
// environment, context and server, for the record. Any failure is an
// error; the caller must not fall back to a claimed identity.
func SelfSubjectReview(ctx context.Context, cs kubernetes.Interface, by string) (*Verified, error) {
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("%s was refused: %w; grant create on selfsubjectreviews.authentication.k8s.io (the default system:basic-user role does, for every authenticated user)", by, err)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s: the API server does not serve authentication.k8s.io/v1 SelfSubjectReview (Kubernetes 1.28 or later; enabled by default): %w", by, err)
	case err != nil:
		return nil, fmt.Errorf("%s failed: %w", by, err)
	}
	u := r.Status.UserInfo
	switch {
	case u.Username == "":
		return nil, fmt.Errorf("%s returned no user name: the cluster cannot say who runs the gate", by)
	case u.Username == "system:anonymous":
		return nil, fmt.Errorf("%s says the gate's credentials are anonymous (system:anonymous): give the environment credentials of the person or workload overriding", by)
	}
	return &Verified{User: u.Username, UID: u.UID, Groups: u.Groups, By: by}, nil
}
