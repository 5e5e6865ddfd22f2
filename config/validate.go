package config

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

var (
	chartVersionPattern  = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	postgresSizePattern  = regexp.MustCompile(`^[1-9][0-9]*(kB|MB|GB|TB)$`)
	postgresIdentPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

// validate records every problem of a fully read Stack and returns the warnings.
func validate(s *Stack, r *reader) []string {
	var warnings []string
	prod := s.Environment == Production

	switch s.Environment {
	case Development, Production:
	case "":
		r.problem("environment", "is required; set it with `pulumi config set %s:environment development|production`", Namespace)
	default:
		r.problem("environment", "%q is not an environment; use development or production", s.Environment)
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		r.problem("namespace", "%q is not a valid namespace name (%s)", s.Namespace, errs[0])
	}

	// Images: a bad reference is refused everywhere; production also refuses a tag that
	// can move, since a rollback or a new node could then pull different code.
	for _, img := range []struct{ key, value string }{
		{"image", s.App.Image}, {"initImage", s.App.InitImage}, {"postgresImage", s.Postgres.Image},
	} {
		if img.key == "image" && img.value == "" {
			r.problem("image", "is required; set it with `pulumi config set %s:image <registry>/<repository>:<tag>`", Namespace)
			continue
		}
		if err := CheckImage(img.value, s.Environment); err != nil {
			r.problem(img.key, "%v", err)
		} else if pinned, _ := imagePinned(img.value); !pinned {
			warnings = append(warnings, Namespace+":"+img.key+": "+img.value+" is not pinned to a tag; production would refuse it")
		}
	}

	if s.App.Replicas < 1 {
		r.problem("replicas", "is %d; it must be at least 1", s.App.Replicas)
	} else if prod && s.App.Replicas < 2 {
		r.problem("replicas", "is %d; production runs at least 2 replicas so that a node loss or a rollout keeps Backstage up", s.App.Replicas)
	}
	unavailable, okU := rolloutBudget(s.App.MaxUnavailable)
	surge, okS := rolloutBudget(s.App.MaxSurge)
	if !okU {
		r.problem("maxUnavailable", "%q is neither a whole number nor a percentage like 25%%", s.App.MaxUnavailable)
	}
	if !okS {
		r.problem("maxSurge", "%q is neither a whole number nor a percentage like 25%%", s.App.MaxSurge)
	}
	if okU && okS && unavailable == 0 && surge == 0 {
		r.problem("maxSurge", "is 0 while maxUnavailable is 0 too, so a rollout could never progress; set maxSurge to 1")
	}
	if okU && prod && unavailable != 0 {
		r.problem("maxUnavailable", "is %s; production rolls out with maxUnavailable 0 so capacity never drops", s.App.MaxUnavailable)
	}

	switch {
	case s.App.Host == "":
		r.problem("host", "is required; set it with `pulumi config set %s:host backstage.example.com`", Namespace)
	case strings.Contains(s.App.Host, "://") || strings.Contains(s.App.Host, "/"):
		r.problem("host", "%q must be a bare DNS name, without scheme or path, e.g. backstage.example.com", s.App.Host)
	case len(validation.IsDNS1123Subdomain(s.App.Host)) > 0 || !strings.Contains(s.App.Host, "."):
		r.problem("host", "%q is not a fully qualified DNS name (lower case letters, digits, '-' and '.'), e.g. backstage.example.com", s.App.Host)
	}
	if !strings.HasPrefix(s.App.HealthCheckPath, "/") {
		r.problem("healthCheckPath", "%q must be an absolute path such as /healthcheck or /.backstage/health/v1/readiness", s.App.HealthCheckPath)
	}

	switch s.Security.TLS {
	case TLSLetsEncryptProd, TLSLetsEncryptStaging:
		if _, err := mail.ParseAddress(s.Security.ACMEEmail); err != nil || !strings.Contains(s.Security.ACMEEmail, "@") {
			r.problem("acmeEmail", "%q is not an e-mail address; Let's Encrypt needs one for expiry notices: `pulumi config set %s:acmeEmail ops@example.com`", s.Security.ACMEEmail, Namespace)
		}
	case TLSSelfSignedCA, TLSNone:
	default:
		r.problem("tls", "%q is not a known issuer; use letsencrypt-prod, letsencrypt-staging, self-signed-ca or none", s.Security.TLS)
	}
	if prod {
		switch s.Security.TLS {
		case TLSNone:
			r.problem("tls", "is none; production serves HTTPS only: use letsencrypt-prod")
		case TLSLetsEncryptStaging, TLSSelfSignedCA:
			r.problem("tls", "is %s, whose certificates browsers do not trust; production uses letsencrypt-prod", s.Security.TLS)
		}
	}
	if s.Security.TLS == TLSSelfSignedCA && !s.Security.Install {
		r.problem("tls", "is self-signed-ca, whose CA the security layer makes, but installSecurityLayer is false; install the layer or use letsencrypt-prod with your platform's cert-manager")
	}
	if s.Security.KindCluster && !s.Security.Install {
		r.problem("kindCluster", "is true but installSecurityLayer is false; the Kind settings only apply to the ingress controller this stack installs")
	}
	for _, v := range []struct{ key, value string }{
		{"ingressNginxChartVersion", s.Security.IngressNginxChartVersion},
		{"certManagerChartVersion", s.Security.CertManagerChartVersion},
	} {
		if !chartVersionPattern.MatchString(v.value) {
			r.problem(v.key, "%q is not a pinned chart version; use an exact version such as 1.2.3 (no ranges)", v.value)
		}
	}
	if errs := validation.IsDNS1123Label(s.Security.IngressControllerNamespace); len(errs) > 0 {
		r.problem("ingressControllerNamespace", "%q is not a valid namespace name (%s)", s.Security.IngressControllerNamespace, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(s.Security.IngressClassName); len(errs) > 0 {
		r.problem("ingressClassName", "%q is not a valid IngressClass name (%s)", s.Security.IngressClassName, errs[0])
	}

	if q, err := resource.ParseQuantity(s.Postgres.StorageSize); err != nil {
		r.problem("postgresStorageSize", "%q is not a Kubernetes quantity; use binary units such as 8Gi (not 8GB)", s.Postgres.StorageSize)
	} else if q.Cmp(resource.MustParse("1Gi")) < 0 {
		r.problem("postgresStorageSize", "%q is below 1Gi; the catalog database needs room to grow, e.g. 8Gi", s.Postgres.StorageSize)
	}
	if s.Postgres.StorageClass != "" {
		if errs := validation.IsDNS1123Subdomain(s.Postgres.StorageClass); len(errs) > 0 {
			r.problem("postgresStorageClass", "%q is not a valid StorageClass name (%s)", s.Postgres.StorageClass, errs[0])
		}
	}
	if s.Postgres.MaxConnections < 10 || s.Postgres.MaxConnections > 10000 {
		r.problem("postgresMaxConnections", "is %d; use a value from 10 to 10000 (Backstage needs about 10 per replica and plugin)", s.Postgres.MaxConnections)
	}
	if !postgresSizePattern.MatchString(s.Postgres.SharedBuffers) {
		r.problem("postgresSharedBuffers", "%q is not a PostgreSQL size; use a number with kB, MB, GB or TB, e.g. 256MB", s.Postgres.SharedBuffers)
	}
	if !postgresIdentPattern.MatchString(s.Postgres.User) || s.Postgres.User == "postgres" {
		r.problem("postgresUser", "%q is not allowed; use a lower-case identifier other than the superuser name postgres, e.g. backstage", s.Postgres.User)
	}

	if s.RBAC.ClusterWideRead {
		if prod && !s.RBAC.ClusterWideReadAcknowledged {
			r.problem("rbacClusterWideRead", "grants read on every resource, Secrets included; production needs `pulumi config set %s:rbacClusterWideReadAcknowledged true` to accept that", Namespace)
		}
		warnings = append(warnings, Namespace+":rbacClusterWideRead: the Backstage ServiceAccount can read every resource in the cluster, Secrets included")
	}
	if !s.NetworkPolicies.Enabled {
		warnings = append(warnings, Namespace+":networkPolicies: off; every pod in the cluster can reach Backstage and PostgreSQL")
	}
	for _, cidr := range s.NetworkPolicies.APIServerCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			r.problem("kubeApiServerCidrs", "%q is not a CIDR; give a comma-separated list such as 172.18.0.0/16", cidr)
		}
	}
	return warnings
}

// CheckImage applies the image rules of `backstage:image` for an environment: a valid
// reference everywhere, and in production a tag other than latest, or a digest.
func CheckImage(image string, env Environment) error {
	pinned, err := imagePinned(image)
	if err != nil {
		return fmt.Errorf("%q is not a valid image reference (%v); use <registry>/<repository>:<tag>", image, err)
	}
	if !pinned && env == Production {
		return fmt.Errorf("%q is not pinned; production needs an explicit tag other than latest (or a digest)", image)
	}
	return nil
}

// imagePinned parses an image reference and says whether it names an immutable build:
// a digest, or a tag other than latest.
func imagePinned(image string) (bool, error) {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return false, err
	}
	if _, ok := ref.(reference.Digested); ok {
		return true, nil
	}
	tagged, ok := ref.(reference.Tagged)
	return ok && tagged.Tag() != "latest", nil
}

// rolloutBudget parses a Deployment's maxSurge/maxUnavailable as the API server does
// (a whole number or a percentage) and returns its share of 100 replicas.
func rolloutBudget(v string) (int, bool) {
	parsed := intstr.Parse(v)
	n, err := intstr.GetScaledValueFromIntOrPercent(&parsed, 100, true)
	return n, err == nil && n >= 0
}
