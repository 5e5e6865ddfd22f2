// Package config reads every key of a stack's `backstage:` configuration into a typed
// struct, fills the defaults of its environment and validates the whole of it before
// the program registers a single resource.
package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumiconfig "github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Namespace is the configuration namespace of every key: `backstage:<key>`.
const Namespace = "backstage"

// Environment decides the defaults and how strict validation is.
type Environment string

const (
	Development Environment = "development"
	Production  Environment = "production"
)

// TLSMode says where the Ingress certificate comes from.
type TLSMode string

const (
	// TLSLetsEncryptProd issues publicly trusted certificates through cert-manager.
	TLSLetsEncryptProd TLSMode = "letsencrypt-prod"
	// TLSLetsEncryptStaging issues untrusted test certificates; refused in production.
	TLSLetsEncryptStaging TLSMode = "letsencrypt-staging"
	// TLSSelfSignedCA issues certificates from a CA that the stack makes with pulumi-tls.
	TLSSelfSignedCA TLSMode = "self-signed-ca"
	// TLSNone serves plain HTTP; for clusters without an ingress controller only.
	TLSNone TLSMode = "none"
)

// Stack is the whole validated configuration of one stack.
type Stack struct {
	Environment     Environment
	Namespace       string
	Kubernetes      Kubernetes
	Security        Security
	App             App
	Postgres        Postgres
	RBAC            RBAC
	NetworkPolicies NetworkPolicies

	// Warnings are accepted but risky choices, for the program to log.
	Warnings []string
}

// Kubernetes configures the one provider the program builds.
type Kubernetes struct {
	// Context is the kubeconfig context; empty means the kubeconfig's current context.
	Context string
	// RenderYAMLToDirectory, when set, writes manifests there instead of applying them.
	RenderYAMLToDirectory string
}

// Security configures ingress-nginx, cert-manager and the certificate issuers.
type Security struct {
	// Install deploys ingress-nginx and cert-manager; off where the platform runs both.
	Install                  bool
	IngressNginxChartVersion string
	CertManagerChartVersion  string
	// KindCluster binds the controller to the Kind node's host ports.
	KindCluster bool
	TLS         TLSMode
	ACMEEmail   string
	// IngressClassName is the class the Backstage Ingress asks for.
	IngressClassName string
	// IngressControllerNamespace is where the controller runs, the one namespace
	// allowed to reach Backstage.
	IngressControllerNamespace string
}

// App configures the Backstage Deployment, Service and Ingress.
type App struct {
	Image           string
	InitImage       string
	Replicas        int
	MaxUnavailable  string
	MaxSurge        string
	Host            string
	HealthCheckPath string
	// GitHub credentials, secret; nil when the key is not set.
	GitHubToken        *pulumi.StringOutput
	GitHubClientID     *pulumi.StringOutput
	GitHubClientSecret *pulumi.StringOutput
}

// Postgres configures the database StatefulSet.
type Postgres struct {
	Image          string
	StorageClass   string
	StorageSize    string
	MaxConnections int
	SharedBuffers  string
	User           string
	// Password is set when the stack gives one; nil means generate it once.
	Password *pulumi.StringOutput
	// Protect refuses `pulumi destroy` of the database until it is lifted.
	Protect bool
}

// RBAC configures what the Backstage Kubernetes plugin may read.
type RBAC struct {
	// ClusterWideRead grants get/list/watch on every resource, Secrets included.
	ClusterWideRead             bool
	ClusterWideReadAcknowledged bool
}

// NetworkPolicies configures the namespace's default-deny and its allows.
type NetworkPolicies struct {
	Enabled bool
	// APIServerCIDRs are where the Kubernetes API server listens, for the plugin's egress.
	APIServerCIDRs []string
}

// Load reads the stack's configuration. It returns every problem at once, each naming
// its key and the fix, so that one `pulumi up` shows all that needs mending.
func Load(ctx *pulumi.Context) (*Stack, error) {
	r := &reader{cfg: pulumiconfig.New(ctx, Namespace), ctx: ctx}
	s := r.read()
	if len(r.problems) == 0 {
		s.Warnings = validate(s, r)
	}
	if len(r.problems) > 0 {
		sort.Strings(r.problems)
		return nil, fmt.Errorf("invalid stack configuration (%d problems); nothing was deployed:\n  - %s",
			len(r.problems), strings.Join(r.problems, "\n  - "))
	}
	return s, nil
}

// reader wraps the Try* getters so that a missing key yields its default and a
// malformed one a problem, never a panic.
type reader struct {
	cfg      *pulumiconfig.Config
	ctx      *pulumi.Context
	problems []string
}

func (r *reader) problem(key, format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("%s:%s: %s", Namespace, key, fmt.Sprintf(format, args...)))
}

func (r *reader) has(key string) bool {
	_, ok := r.ctx.GetConfig(Namespace + ":" + key)
	return ok
}

func (r *reader) str(key, def string) string {
	v, err := r.cfg.Try(key)
	if err != nil || strings.TrimSpace(v) == "" {
		return def
	}
	return strings.TrimSpace(v)
}

func (r *reader) integer(key string, def int) int {
	v, err := r.cfg.TryInt(key)
	if errors.Is(err, pulumiconfig.ErrMissingVar) {
		return def
	}
	if err != nil {
		r.problem(key, "%q is not a whole number; set it with `pulumi config set %s:%s <number>`", r.str(key, ""), Namespace, key)
		return def
	}
	return v
}

func (r *reader) boolean(key string, def bool) bool {
	v, err := r.cfg.TryBool(key)
	if errors.Is(err, pulumiconfig.ErrMissingVar) {
		return def
	}
	if err != nil {
		r.problem(key, "%q is not true or false; set it with `pulumi config set %s:%s true|false`", r.str(key, ""), Namespace, key)
		return def
	}
	return v
}

func (r *reader) list(key string) []string {
	var out []string
	for _, item := range strings.Split(r.str(key, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// secret reads a credential. A credential stored in plaintext in the stack file is a
// problem: it would sit in git and in the state unencrypted.
func (r *reader) secret(key string) *pulumi.StringOutput {
	if !r.has(key) {
		return nil
	}
	if !r.ctx.IsConfigSecret(Namespace + ":" + key) {
		r.problem(key, "is stored in plaintext; remove it and set it with `pulumi config set --secret %s:%s <value>`", Namespace, key)
		return nil
	}
	v, err := r.cfg.TrySecret(key)
	if err != nil {
		r.problem(key, "cannot be read: %v", err)
		return nil
	}
	return &v
}
