package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"golang.org/x/mod/semver"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// The checks the key table uses. Each returns the message that follows the key's
// name, saying what is wrong and what to write instead.

var (
	chartVersionPattern  = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	postgresIdentPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
)

func atLeast(minimum int, why string) func(int) error {
	return func(v int) error {
		if v < minimum {
			return fmt.Errorf("is %d; it must be at least %d%s", v, minimum, why)
		}
		return nil
	}
}

func between(lo, hi int, why string) func(int) error {
	return func(v int) error { return workload.Between(v, lo, hi, why) }
}

func dnsLabel(what string) func(string) error {
	return func(v string) error {
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return fmt.Errorf("%q is not a valid %s name (%s)", v, what, errs[0])
		}
		return nil
	}
}

func dnsSubdomain(what string) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
			return fmt.Errorf("%q is not a valid %s name (%s)", v, what, errs[0])
		}
		return nil
	}
}

func publicHost(v string) error {
	switch {
	case strings.Contains(v, "://") || strings.Contains(v, "/"):
		return fmt.Errorf("%q must be a bare DNS name, without scheme or path, e.g. backstage.example.com", v)
	case net.ParseIP(v) != nil:
		return fmt.Errorf("%q is an IP address; an Ingress host and a certificate need a DNS name, e.g. backstage.example.com", v)
	case len(validation.IsDNS1123Subdomain(v)) > 0 || !strings.Contains(v, "."):
		return fmt.Errorf("%q is not a fully qualified DNS name (lower case letters, digits, '-' and '.'), e.g. backstage.example.com", v)
	}
	for _, label := range strings.Split(v, ".") {
		if errs := validation.IsDNS1123Label(label); len(errs) > 0 {
			return fmt.Errorf("%q has the label %q, which DNS cannot hold (%s)", v, label, errs[0])
		}
	}
	return nil
}

// Suffixes no public DNS answers for: the special-use names of RFC 6761 and RFC 6762
// (mDNS), which production must not be served on, and, for a Let's Encrypt
// certificate, names under no public suffix, for which no CA may issue.
var (
	specialUseSuffixes = []string{"localhost", "local", "test", "invalid", "example"}
	privateSuffixes    = []string{"internal", "lan", "home.arpa", "corp", "intranet", "private", "localdomain"}
)

// hostUnder names the suffix of host among suffixes, or "".
func hostUnder(host string, suffixes []string) string {
	for _, suffix := range suffixes {
		if host == suffix || strings.HasSuffix(host, "."+suffix) {
			return suffix
		}
	}
	return ""
}

// productionHost refuses the special-use names in production.
func productionHost(v string) error {
	if suffix := hostUnder(v, specialUseSuffixes); suffix != "" {
		return fmt.Errorf("%q is under .%s, a special-use name no public resolver answers for; production needs the name users reach", v, suffix)
	}
	return nil
}

// httpPath refuses what is no absolute HTTP request path: no leading /, a scheme or
// host, whitespace or control characters, a fragment, or .. segments. A query passes.
func httpPath(v string) error {
	const example = "/healthcheck or /.backstage/health/v1/readiness"
	u, err := url.ParseRequestURI(v)
	switch {
	case !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//"):
		return fmt.Errorf("%q must be an absolute path such as %s", v, example)
	case err != nil || strings.ContainsAny(v, " \t\r\n#") || u.Host != "" || u.Scheme != "":
		return fmt.Errorf("%q is not an HTTP path (no spaces, fragment or host); use a path such as %s", v, example)
	case slices.Contains(strings.Split(u.Path, "/"), ".."):
		return fmt.Errorf("%q has a .. segment, which servers resolve away; write the path it means", v)
	}
	return nil
}

func email(v string) error {
	if v == "" {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil || !strings.Contains(v, "@") {
		return fmt.Errorf("%q is not an e-mail address, e.g. ops@example.com", v)
	}
	return nil
}

// validImage refuses a reference the container runtime could not pull.
func validImage(v string) error {
	if _, err := imagePinned(v); err != nil {
		return fmt.Errorf("%q is not a valid image reference (%v); use <registry>/<repository>:<tag>", v, err)
	}
	return nil
}

// pinnedImage refuses a tag that can move: a rollback or a new node could then pull
// different code. A tag moves when it names no release: latest, a branch or channel
// (main, stable), or a major alone (1, v18); a release has at least a major and a
// minor (18.1, 1.36, 1.0.0-alpine), or the reference carries a digest.
func pinnedImage(v string) error {
	if pinned, err := imagePinned(v); err == nil && !pinned {
		return fmt.Errorf("%q is not pinned, its tag can move; production needs a tag that names a release (at least major.minor, e.g. 1.4.2) or a digest (@sha256:...)", v)
	}
	return nil
}

// releaseTag is a tag that names a release: major.minor at least, with an optional v
// and suffix.
var releaseTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+([.+_-].*)?$`)

func unpinnedImageWarning(v string) string {
	if pinnedImage(v) != nil {
		return v + " is not pinned to a tag; production would refuse it"
	}
	return ""
}

// CheckImage applies the image rules of `backstage:image` for an environment: a valid
// reference everywhere, and in production a tag other than latest, or a digest.
func CheckImage(image string, env Environment) error {
	if err := validImage(image); err != nil {
		return err
	}
	if env == Production {
		return pinnedImage(image)
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
	return ok && releaseTag.MatchString(tagged.Tag()), nil
}

// The optional* checks are the image checks for a key whose default comes later (the
// PostgreSQL image of the chosen major).
func optionalImage(v string) error {
	if v == "" {
		return nil
	}
	return validImage(v)
}

func optionalPinnedImage(v string) error {
	if v == "" {
		return nil
	}
	return pinnedImage(v)
}

func optionalUnpinnedImageWarning(v string) string {
	if v == "" {
		return ""
	}
	return unpinnedImageWarning(v)
}

func exactChartVersion(v string) error {
	if !chartVersionPattern.MatchString(v) {
		return fmt.Errorf("%q is not a pinned chart version; use an exact version such as 1.2.3 (no ranges)", v)
	}
	return nil
}

// chartVersionAtLeast is exactChartVersion and a floor: releases older than minimum are
// out of support upstream, or lack what the program relies on.
func chartVersionAtLeast(minimum string) func(string) error {
	return func(v string) error {
		if err := exactChartVersion(v); err != nil {
			return err
		}
		if semver.Compare(canonicalVersion(v), canonicalVersion(minimum)) < 0 {
			return fmt.Errorf("%q is older than %s, the oldest supported release; use %s or later", v, minimum, minimum)
		}
		return nil
	}
}

func canonicalVersion(v string) string { return "v" + strings.TrimPrefix(v, "v") }

// systemNamespaces would be labelled restricted and default-denied by the program.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func appNamespace(v string) error {
	if err := dnsLabel("namespace")(v); err != nil {
		return err
	}
	if slices.Contains(systemNamespaces, v) {
		return fmt.Errorf("%q is a system namespace; the program labels its namespace restricted and denies all traffic in it, so give Backstage its own, e.g. backstage", v)
	}
	return nil
}

// quantityBetween is quantityAtLeast with an upper bound that catches unit slips (8Ei).

func postgresRole(v string) error {
	if !postgresIdentPattern.MatchString(v) || v == "postgres" || strings.HasPrefix(v, "pg_") {
		return fmt.Errorf("%q is not allowed; use a lower-case identifier other than the superuser name postgres and not starting with pg_ (reserved by PostgreSQL), e.g. backstage", v)
	}
	return nil
}

// rolloutBudget parses a Deployment's maxSurge/maxUnavailable as the API server does
// (a whole number or a percentage) and returns its share of 100 replicas.
func rolloutBudget(v string) (int, error) {
	parsed := intstr.Parse(v)
	n, err := intstr.GetScaledValueFromIntOrPercent(&parsed, 100, true)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is neither a whole number nor a percentage like 25%%", v)
	}
	return n, nil
}

func validRolloutBudget(v string) error {
	_, err := rolloutBudget(v)
	return err
}

// validMaxUnavailable is a rollout budget of at most all the pods, as the API server
// has it: 150% unavailable means nothing.
func validMaxUnavailable(v string) error {
	if err := validRolloutBudget(v); err != nil {
		return err
	}
	if parsed := intstr.Parse(v); parsed.Type == intstr.String {
		if n, _ := intstr.GetScaledValueFromIntOrPercent(&parsed, 100, true); n > 100 {
			return fmt.Errorf("%q is over 100%%, which the API server refuses; use a percentage up to 100%% or a number of pods", v)
		}
	}
	return nil
}

func zeroRolloutBudget(why string) func(string) error {
	return func(v string) error {
		if n, err := rolloutBudget(v); err == nil && n != 0 {
			return fmt.Errorf("is %s; %s", v, why)
		}
		return nil
	}
}

func cidrList(example string) func([]string) error {
	return func(v []string) error {
		var bad []string
		for _, cidr := range v {
			if _, _, err := net.ParseCIDR(cidr); err != nil {
				bad = append(bad, fmt.Sprintf("%q", cidr))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s is not a CIDR; give CIDRs such as %s", strings.Join(bad, ", "), example)
		}
		for _, cidr := range v {
			ip, network, _ := net.ParseCIDR(cidr)
			if ones, _ := network.Mask.Size(); ones == 0 {
				return fmt.Errorf("%q allows every address, which is no restriction; give the exact range, e.g. %s", cidr, example)
			}
			if !ip.Equal(network.IP) {
				return fmt.Errorf("%q has host bits set; did you mean %s?", cidr, network.String())
			}
		}
		if err := network.CheckAddressSet(v); err != nil {
			return fmt.Errorf("%v; give the exact range, e.g. %s", err, example)
		}
		return nil
	}
}

func warnWhen(want bool, message string) func(bool) string {
	return func(v bool) string {
		if v == want {
			return message
		}
		return ""
	}
}

// egressRulesExplained asks a reason of each wide egress rule in production.
func egressRulesExplained(rules []network.EgressRule) error {
	for i, r := range rules {
		if why := network.WideEgress(r); why != "" && strings.TrimSpace(r.Reason) == "" {
			return fmt.Errorf("[%d] %s; production needs it narrowed, or a reason: set `reason: <why>` in the rule", i, why)
		}
	}
	return nil
}

// warnWideEgress names the wide rules that have no reason, outside production.
func warnWideEgress(rules []network.EgressRule) string {
	for i, r := range rules {
		if why := network.WideEgress(r); why != "" && strings.TrimSpace(r.Reason) == "" {
			return fmt.Sprintf("rule %d %s; production will ask a reason for it", i, why)
		}
	}
	return ""
}

// autoscalingKeepsTwo holds the autoscaler's floor to production's replicas floor.
func autoscalingKeepsTwo(a *backstage.Autoscaling) error {
	if a != nil && a.MinReplicas < productionMinReplicas {
		return fmt.Errorf("minReplicas is %d; production runs at least %d replicas so that a node loss or a rollout keeps Backstage up", a.MinReplicas, productionMinReplicas)
	}
	return nil
}

// pinnedContainerImages applies pinnedImage to the stack's own containers.
func pinnedContainerImages(containers []corev1.Container) error {
	for _, c := range containers {
		if err := pinnedImage(c.Image); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
	}
	return nil
}
