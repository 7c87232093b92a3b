package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/sign"
)

// trustOptions are --trust and the keys it and the config name.
type trustOptions struct {
	// trustProd is --trust: the public key prod's snapshot must be signed
	// with. Only prod: it is the side CI does not control, which is why it
	// is read from a snapshot in the first place; dev is read live, or is
	// CI's own output.
	trustProd string
	keys      map[string]*sign.Verifier
}

// AddTrustFlags adds --trust.
func (t *trustOptions) AddTrustFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.trustProd, "trust", "", "public key (PEM) the prod snapshot must be signed with, for environment prod (default: environments.prod.trust)")
}

func (t *trustOptions) key(path string) (*sign.Verifier, error) {
	if v, ok := t.keys[path]; ok {
		return v, nil
	}
	v, err := sign.LoadVerifier(path)
	if err != nil {
		return nil, err
	}
	if t.keys == nil {
		t.keys = map[string]*sign.Verifier{}
	}
	t.keys[path] = v
	return v, nil
}

// withTrust sets env's trusted key and expected cluster from the config's
// environment of the same name, whatever source a flag gave the side (a
// command line cannot drop what the config requires), and from --trust
// for prod. --trust and environments.prod.trust naming different keys is
// an error: one of them would be ignored.
func (o *compareOptions) withTrust(env compare.Environment) (compare.Environment, error) {
	c := o.cfg.Environments[env.Name]
	env.Cluster = c.Cluster
	if c.Trust != "" {
		k, err := o.trust.key(c.Trust)
		if err != nil {
			return env, fmt.Errorf("environments.%s.trust in %s: %w", env.Name, o.cfg.Where(), err)
		}
		env.Trust = k
	}
	if env.Name == "prod" && o.trust.trustProd != "" {
		k, err := o.trust.key(o.trust.trustProd)
		if err != nil {
			return env, fmt.Errorf("--trust: %w", err)
		}
		if env.Trust != nil && env.Trust.KeyID() != k.KeyID() {
			return env, fmt.Errorf("--trust %s (key %s) is not environments.prod.trust %s (key %s) of %s: give one key",
				o.trust.trustProd, k.KeyID(), c.Trust, env.Trust.KeyID(), o.cfg.Where())
		}
		env.Trust = k
	}
	return env, nil
}
