package incident

import (
	"os"
	"os/user"
	"strings"
)

// ciSystem reads one CI system's variables for the actor, commit and pipeline URL.
type ciSystem struct {
	name     string
	detect   string   // variable that is set on this system
	actor    []string // first set wins
	commit   []string
	pipeline func(getenv func(string) string) string
}

var ciSystems = []ciSystem{
	{name: "github-actions", detect: "GITHUB_ACTIONS", actor: []string{"GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"}, commit: []string{"GITHUB_SHA"},
		pipeline: func(g func(string) string) string {
			if g("GITHUB_SERVER_URL") == "" || g("GITHUB_REPOSITORY") == "" || g("GITHUB_RUN_ID") == "" {
				return ""
			}
			return g("GITHUB_SERVER_URL") + "/" + g("GITHUB_REPOSITORY") + "/actions/runs/" + g("GITHUB_RUN_ID")
		}},
	{name: "gitlab-ci", detect: "GITLAB_CI", actor: []string{"GITLAB_USER_LOGIN", "GITLAB_USER_EMAIL"}, commit: []string{"CI_COMMIT_SHA"},
		pipeline: func(g func(string) string) string { return g("CI_PIPELINE_URL") }},
	{name: "buildkite", detect: "BUILDKITE", actor: []string{"BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR"}, commit: []string{"BUILDKITE_COMMIT"},
		pipeline: func(g func(string) string) string { return g("BUILDKITE_BUILD_URL") }},
	{name: "azure-pipelines", detect: "TF_BUILD", actor: []string{"BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFOR"}, commit: []string{"BUILD_SOURCEVERSION"},
		pipeline: func(g func(string) string) string {
			if g("SYSTEM_COLLECTIONURI") == "" || g("BUILD_BUILDID") == "" {
				return ""
			}
			return strings.TrimSuffix(g("SYSTEM_COLLECTIONURI"), "/") + "/" + g("SYSTEM_TEAMPROJECT") + "/_build/results?buildId=" + g("BUILD_BUILDID")
		}},
	{name: "circleci", detect: "CIRCLECI", actor: []string{"CIRCLE_USERNAME"}, commit: []string{"CIRCLE_SHA1"},
		pipeline: func(g func(string) string) string { return g("CIRCLE_BUILD_URL") }},
	// Jenkins last: its variables are the least specific.
	{name: "jenkins", detect: "JENKINS_URL", actor: []string{"BUILD_USER_ID", "CHANGE_AUTHOR"}, commit: []string{"GIT_COMMIT"},
		pipeline: func(g func(string) string) string { return g("BUILD_URL") }},
}

// ResolveIdentity decides who is overriding: the --override-by flag, else
// the CI system's actor, else the OS user. The commit and pipeline URL come
// from the CI system when there is one. Actor is always who the environment
// says runs the gate, so a flag naming someone else is recorded beside it.
func ResolveIdentity(flag string, getenv func(string) string) Identity {
	if getenv == nil {
		getenv = os.Getenv
	}
	first := func(names []string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	var id Identity
	for _, ci := range ciSystems {
		if getenv(ci.detect) == "" {
			continue
		}
		id = Identity{Name: first(ci.actor), Source: ci.name, Commit: first(ci.commit), PipelineURL: ci.pipeline(getenv)}
		break
	}
	if id.Name == "" {
		id.Source = "os-user"
		if u, err := user.Current(); err == nil {
			id.Name = u.Username
		}
		if id.Name == "" {
			id.Name = getenv("USER")
		}
	}
	id.Actor, id.ActorSource = id.Name, id.Source
	if f := strings.TrimSpace(flag); f != "" {
		id.Name, id.Source = f, "flag"
	}
	return id
}

// Verified is who a cluster's API server authenticated the gate's
// credentials as: what an attacker cannot claim by setting a flag or a
// variable.
type Verified struct {
	User   string   `json:"user"`
	UID    string   `json:"uid,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// By says how it was learned: "SelfSubjectReview on prod (context
	// prod-admin, server https://prod.example:6443)".
	By string `json:"by"`
}

// Claim is an identity that nothing verified: --override-by ("flag"), the
// CI system's actor (the system's name) or the OS user ("os-user").
type Claim struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

func (c Claim) String() string { return c.Name + " (" + c.Source + ")" }

// claimsOf lists what a claimed identity (ResolveIdentity's) asserts: the
// flag's name, when given, and who the environment says runs the gate.
func claimsOf(id Identity) []Claim {
	var out []Claim
	if id.Source == "flag" {
		out = append(out, Claim{Name: id.Name, Source: id.Source})
	}
	switch {
	case id.Actor != "":
		out = append(out, Claim{Name: id.Actor, Source: id.ActorSource})
	case id.Source != "flag" && id.Name != "":
		out = append(out, Claim{Name: id.Name, Source: id.Source})
	}
	return out
}
