package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// Checks of the keys in keys_app.go.

var (
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// envReference is app-config's substitution, ${NAME}, the only form a credential
	// may take in appConfig.
	envReference = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
	// credentialName matches the names credentials go by (token, secret, password,
	// API and access keys, private and signing keys, credentials, authorization,
	// app passwords), however they are cased or joined; names that only point at a
	// credential (tokenUrl, secretName, passwordFile, ...) are not credentials.
	credentialName = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|pwd|api[-_]?key|access[-_]?key|private[-_]?key|signing[-_]?key|credential|authorization|auth[-_]?header)`)
	pointerName    = regexp.MustCompile(`(?i)(url|uri|endpoint|name|file|path|ref|type|ttl|expiry|expires|header[-_]?name|id|scopes?|audience|issuer|provider|mode|format)$`)
	// tokenShape matches the shapes of well-known credentials wherever they appear.
	tokenShape = regexp.MustCompile(`(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|(?i:bearer|basic) [A-Za-z0-9._~+/=-]{16,})`)
)

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("%q is not allowed; use %s", v, strings.Join(allowed, ", "))
		}
		return nil
	}
}

func each(check func(string) error) func([]string) error {
	return func(list []string) error {
		for _, v := range list {
			if err := check(v); err != nil {
				return err
			}
		}
		return nil
	}
}

// noLiteralCredentials refuses app-config that would put a credential in a ConfigMap:
// a literal (a string or a number) under a credential's name, or a value shaped like a
// well-known token under any name.
func noLiteralCredentials(appConfig map[string]any) error {
	var found []string
	eachLeaf(appConfig, func(path, key string, v any) {
		if literalCredential(key, v) {
			found = append(found, path)
		}
	})
	if len(found) == 0 {
		return nil
	}
	sort.Strings(found)
	return fmt.Errorf("%s holds a literal credential, which would sit in a ConfigMap and in git; write ${SOME_NAME} there and set the value with `pulumi config set --secret --path '%s.SOME_NAME' <value>`",
		strings.Join(found, ", "), Namespace+":secretEnv")
}

// literalCredential says whether a value under key is a credential written out.
func literalCredential(key string, v any) bool {
	var text string
	switch value := v.(type) {
	case string:
		text = value
	case float64, int:
		text = fmt.Sprint(value)
	default:
		return false
	}
	if text == "" || envReference.MatchString(text) {
		return false
	}
	if tokenShape.MatchString(text) {
		return true
	}
	_, isNumber := v.(float64)
	return credentialName.MatchString(key) && !pointerName.MatchString(key) && (isNumber || !strings.Contains(text, "${"))
}

// noPlainCredentials refuses credentials in plain env (a ConfigMap): a name a
// credential goes by, or a value shaped like a token.
func noPlainCredentials(env map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if literalCredential(name, env[name]) {
			return fmt.Errorf("%s looks like a credential, which would sit in the ConfigMap backstage-env-config and in git; move it to secretEnv: `pulumi config set --secret --path '%s.%s' <value>`",
				name, Namespace+":secretEnv", name)
		}
	}
	return nil
}

func appConfigFiles(files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("is empty; the image's own files are %s", strings.Join(backstage.DefaultAppConfigBaseFiles, ", "))
	}
	for _, f := range files {
		if f == "" || strings.Contains(f, "..") {
			return fmt.Errorf("%q is not a file in the image's working directory", f)
		}
	}
	return nil
}

// envNames refuses names a shell or Kubernetes cannot take, and names the program sets.
func envNames[V any](env map[string]V) error {
	for name := range env {
		if !envNamePattern.MatchString(name) {
			return fmt.Errorf("%q is not an environment variable name; use letters, digits and _, not starting with a digit", name)
		}
		if backstage.EnvNameOwned(name) {
			return fmt.Errorf("%s is set by the program (POSTGRES_*, APP_CONFIG_*, NODE_*, BACKEND_SECRET, GITHUB_* and the base URLs); use another name, or the github* keys for GitHub", name)
		}
	}
	return nil
}

// pemCertificates accepts one or more PEM certificates, each of which must parse.
func pemCertificates(bundle string) error {
	if bundle == "" {
		return nil
	}
	rest, count := []byte(bundle), 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("holds a %s block; only certificates belong here, never a key", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d does not parse: %v", count+1, err)
		}
		count++
	}
	if count == 0 || strings.TrimSpace(string(rest)) != "" {
		return fmt.Errorf("is not a PEM bundle of certificates (-----BEGIN CERTIFICATE----- blocks only); set it from a file with `pulumi config set %s:caBundle -- \"$(cat ca.pem)\"`", Namespace)
	}
	return nil
}

// labelMap is the components' own check of labels.
var labelMap = workload.CheckLabels

func validTolerations(tolerations []corev1.Toleration) error {
	for i, t := range tolerations {
		if !slices.Contains([]corev1.TolerationOperator{"", corev1.TolerationOpEqual, corev1.TolerationOpExists}, t.Operator) {
			return fmt.Errorf("[%d].operator %q is not Equal or Exists", i, t.Operator)
		}
		if !slices.Contains([]corev1.TaintEffect{"", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}, t.Effect) {
			return fmt.Errorf("[%d].effect %q is not NoSchedule, PreferNoSchedule or NoExecute", i, t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value != "" {
			return fmt.Errorf("[%d] has operator Exists and a value; Exists matches any value, so drop the value", i)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			return fmt.Errorf("[%d] has no key; only operator Exists may leave it out", i)
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			return fmt.Errorf("[%d].tolerationSeconds only applies to effect NoExecute", i)
		}
		if errs := validation.IsQualifiedName(t.Key); t.Key != "" && len(errs) > 0 {
			return fmt.Errorf("[%d].key %q is not a taint key (%s)", i, t.Key, errs[0])
		}
		if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
			return fmt.Errorf("[%d].value %q is not a taint value (%s)", i, t.Value, errs[0])
		}
	}
	return nil
}

func validMetrics(m *Metrics) error {
	if m == nil {
		return nil
	}
	if m.Port != 0 && (m.Port < 1024 || m.Port > 65535 || m.Port == names.BackstagePort) {
		return fmt.Errorf("port %d is not a free unprivileged port; the exporter's default is %d", m.Port, backstage.DefaultMetricsPort)
	}
	if errs := validation.IsDNS1123Label(m.ScraperNamespace); len(errs) > 0 {
		return fmt.Errorf("needs scraperNamespace, the namespace of the Prometheus allowed to scrape (e.g. monitoring)")
	}
	return nil
}

func rollingUpdateOnly(strategy string) error {
	if strategy != backstage.DefaultRolloutStrategy {
		return fmt.Errorf("is %s, which stops every pod before new ones start: an outage at each deploy; production rolls", strategy)
	}
	return nil
}

// validResources is the components' own check of requests and limits.
func validResources(r Resources) error { return r.args().Validate() }

// warnOf is a production refusal's message, as a warning elsewhere.
func warnOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error() + "; production refuses it"
}

// noDangerousAppConfig refuses, in production, what Backstage marks as dangerous (an
// option named dangerously*, set true), CORS that lets any origin send credentials,
// and URL reading from any host.
func noDangerousAppConfig(appConfig map[string]any) error {
	var found []string
	eachLeaf(appConfig, func(path, key string, v any) {
		if on, ok := v.(bool); ok && on && strings.HasPrefix(strings.ToLower(key), "dangerously") {
			found = append(found, path)
		}
	})
	sort.Strings(found)
	if len(found) > 0 {
		return fmt.Errorf("sets %s, which Backstage marks as dangerous; production leaves it off", strings.Join(found, ", "))
	}
	origin, _ := backstage.AppConfigValue(appConfig, "backend", "cors", "origin")
	credentials, _ := backstage.AppConfigValue(appConfig, "backend", "cors", "credentials")
	if anyValue(origin, "*") && credentials == true {
		return errors.New("sets backend.cors.origin to * with credentials, which lets any site call Backstage as its signed-in users; list the origins")
	}
	if allow, ok := backstage.AppConfigValue(appConfig, "backend", "reading", "allow"); ok {
		list, _ := allow.([]any)
		for _, entry := range list {
			if e, ok := entry.(map[string]any); ok && anyValue(e["host"], "*") {
				return errors.New("sets backend.reading.allow host *, which lets the catalog fetch any address, the cluster's own included; list the hosts")
			}
		}
	}
	return nil
}

// anyValue says whether v is want or a list holding it.
func anyValue(v any, want string) bool {
	if s, ok := v.(string); ok {
		return s == want
	}
	list, _ := v.([]any)
	return slices.Contains(list, any(want))
}

// unsafeEnv change how Node.js checks TLS or where it and the dynamic loader load
// code from.
var unsafeEnv = []string{"NODE_TLS_REJECT_UNAUTHORIZED", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"}

func noUnsafeEnv[V any](env map[string]V) error {
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if slices.Contains(unsafeEnv, name) {
			return fmt.Errorf("sets %s, which changes how Node.js checks TLS or where code is loaded from; production leaves it unset (trust a CA with backstage:caBundle)", name)
		}
	}
	return nil
}

// noToleranceOfEverything refuses, in production, tolerations that let the pods land
// anywhere: one without a key (every taint) or of the control plane's taints.
func noToleranceOfEverything(tolerations []corev1.Toleration) error {
	for i, t := range tolerations {
		switch {
		case t.Key == "" && t.Operator == corev1.TolerationOpExists:
			return fmt.Errorf("[%d] tolerates every taint, so the pods may land on any node, the control plane's included; name the taint", i)
		case t.Key == "node-role.kubernetes.io/control-plane" || t.Key == "node-role.kubernetes.io/master":
			return fmt.Errorf("[%d] tolerates %s, which puts Backstage beside the API server; production keeps it off the control plane", i, t.Key)
		}
	}
	return nil
}

// notSystemPriority refuses the system priority classes, which may preempt the
// cluster's own components and which the API server admits only in kube-system.
func notSystemPriority(v string) error {
	if strings.HasPrefix(v, "system-") {
		return fmt.Errorf("%s is the cluster's own components' priority; Backstage would preempt them, and the API server admits it only in kube-system; use a class of your own", v)
	}
	return nil
}

// eachLeaf calls f with every scalar of an app-config tree, its path (a.b[0].c) and
// the key it sits under (a list's items sit under the list's key).
func eachLeaf(tree map[string]any, f func(path, key string, v any)) {
	var walk func(path, key string, v any)
	walk = func(path, key string, v any) {
		switch node := v.(type) {
		case map[string]any:
			for k, child := range node {
				walk(strings.TrimPrefix(path+"."+k, "."), k, child)
			}
		case []any:
			for i, child := range node {
				walk(fmt.Sprintf("%s[%d]", path, i), key, child)
			}
		default:
			f(path, key, node)
		}
	}
	walk("", "", tree)
}
