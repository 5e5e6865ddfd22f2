package config

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/edge"
	"github.com/arhean/backstage-pulumi/components/network"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// A finding is a rule's verdict: a problem, which refuses the stack and names its key,
// or a warning, which the program logs.
type finding struct {
	key, message string
	warning      bool
}

func problem(key, format string, args ...any) finding {
	return finding{key: key, message: fmt.Sprintf(format, args...)}
}

func warning(message string) finding { return finding{message: message, warning: true} }

// keySet is the keys whose own checks refused them: a rule between keys skips what it
// would only report again.
type keySet map[string]bool

func (k keySet) any(keys ...string) bool {
	return slices.ContainsFunc(keys, func(key string) bool { return k[key] })
}

// checkRules applies the rules that involve more than one key; each key's own checks
// are in the table. The rules read the Stack and return what they find: they set
// nothing, so what a component receives is computed only where its args are made.
func checkRules(s *Stack, refused keySet) (out []finding) {
	out = append(out, checkEdgeRules(s, refused)...)
	for _, path := range []struct {
		key   *Key[string]
		value string
	}{{KeyCertManagerChartPath, s.Security.CertManagerChartPath}, {KeyIngressNginxChartPath, s.Security.IngressNginxChartPath},
		{KeyEnvoyGatewayChartPath, s.Security.EnvoyGatewayChartPath}} {
		if err := edge.CheckChartPath(s.rootDir, path.value); err != nil && s.InstallSecurityLayer {
			out = append(out, problem(path.key.Name, "%v", err))
		}
	}
	if s.TLS.ACME() && s.Edge != EdgeGateway && !refused.any(KeyHost.Name) {
		if suffix := hostUnder(s.App.Host, append(slices.Clone(specialUseSuffixes), privateSuffixes...)); suffix != "" {
			out = append(out, problem(KeyHost.Name, "is under .%s, which is no public suffix, so Let's Encrypt (%s %s) cannot issue for it; use a public name, or %s self-signed-ca or none behind your own CA",
				suffix, KeyTLS.FullName(), s.TLS, KeyTLS.FullName()))
		}
	}
	if s.TLS.ACME() && s.ACMEEmail == "" && s.Edge != EdgeGateway {
		out = append(out, problem(KeyACMEEmail.Name, "is required with tls %s: Let's Encrypt sends expiry notices there; `pulumi config set %s %s`",
			s.TLS, KeyACMEEmail.FullName(), KeyACMEEmail.Example))
	}
	unavailable, errU := rolloutBudget(s.App.MaxUnavailable)
	surge, errS := rolloutBudget(s.App.MaxSurge)
	if errU == nil && errS == nil && unavailable == 0 && surge == 0 {
		out = append(out, problem(KeyMaxSurge.Name, "is 0 while %s is 0 too, so a rollout could never progress; set it to 1", KeyMaxUnavailable.Name))
	}
	if s.TLS == edge.IssuerSelfSignedCA && !s.InstallSecurityLayer && s.Edge != EdgeGateway {
		out = append(out, problem(KeyTLS.Name, "is self-signed-ca, whose CA the security layer makes, but %s is false; install the layer or use letsencrypt-prod with your platform's cert-manager",
			KeyInstallSecurityLayer.Name))
	}
	if s.Security.KindCluster && !s.InstallSecurityLayer {
		out = append(out, problem(KeyKindCluster.Name, "is true but %s is false; the Kind settings only apply to the ingress controller this stack installs",
			KeyInstallSecurityLayer.Name))
	}
	if !refused.any(KeyPostgresSharedBuffers.Name, KeyPostgresResources.Name) {
		if err := postgres.SharedBuffersFit(s.Postgres.SharedBuffers, s.PostgresResources.args()); err != nil {
			out = append(out, problem(KeyPostgresSharedBuffers.Name, "%v (%s)", err, KeyPostgresResources.FullName()))
		}
	}
	for name := range s.App.Env {
		if _, both := s.App.SecretEnv[name]; both {
			out = append(out, problem(KeySecretEnv.Name, "and %s both set %s; keep it in one of them", KeyEnv.FullName(), name))
		}
	}
	out = append(out, checkInertKeys(s, refused)...)
	if s.InstallSecurityLayer && !refused.any(KeyNamespace.Name) {
		for owner, ns := range map[string]string{"ingress-nginx": s.Security.IngressControllerNamespace, "cert-manager": "cert-manager", "Envoy Gateway": edge.EnvoyGatewayNamespace} {
			if s.Namespace == ns {
				out = append(out, problem(KeyNamespace.Name, "is %s, where the security layer installs %s; the two would share a namespace whose policies and Pod Security the program sets for Backstage; give Backstage its own, e.g. backstage",
					ns, owner))
			}
		}
	}
	out = append(out, checkPodAdditions(s, refused)...)
	if addr, err := netip.ParseAddr(s.External.Host); err == nil && len(s.External.CIDRs) > 0 && !refused.any(KeyDatabaseHost.Name, KeyDatabaseCIDRs.Name) {
		inside := slices.ContainsFunc(s.External.CIDRs, func(c string) bool {
			p, err := netip.ParsePrefix(c)
			return err == nil && p.Contains(addr)
		})
		if !inside {
			out = append(out, problem(KeyDatabaseCIDRs.Name, "does not contain %s, the address of %s, so the NetworkPolicy would block Backstage's database; add %s/32 or correct the host",
				addr, KeyDatabaseHost.FullName(), addr))
		}
	}
	// Pulumi.yaml's default counts as set, so only a value other than it is seen.
	if s.App.Autoscaling != nil && s.App.Replicas != KeyReplicas.Default {
		out = append(out, problem(KeyReplicas.Name, "is %d, but %s owns the replica count; remove it (autoscaling.minReplicas is the floor)", s.App.Replicas, KeyAutoscaling.FullName()))
	}
	if !refused.any(KeyEgressRules.Name, KeyKubeAPIServerCIDRs.Name) {
		if err := network.CheckEgressAvoidsAPIServer(s.EgressRules, s.APIServerCIDRs); err != nil {
			out = append(out, problem(KeyEgressRules.Name, "%v (%s)", err, KeyKubeAPIServerCIDRs.FullName()))
		}
	}
	for key, set := range map[string]bool{KeyEgressRules.Name: len(s.EgressRules) > 0, KeyMetadataEgress.Name: s.MetadataEgress} {
		if set && !s.NetworkPolicies {
			out = append(out, problem(key, "is set but %s is false, so nothing limits egress and it does nothing; remove it or turn the policies on", KeyNetworkPolicies.FullName()))
		}
	}
	out = append(out, checkAdmissionWebhook(s, refused)...)
	if s.runsIngressNginx() && s.Environment == Production {
		out = append(out, warning(fmt.Sprintf("%s: ingress-nginx is retired upstream (its final release was in March 2026) and its nginx gets no more fixes (CVE-2026-42945 is unpatched); "+
			"move to `%s %s` (docs/operations.md: Moving the edge)", KeyEdge.FullName(), KeyEdge.FullName(), EdgeEnvoyGateway)))
	}
	out = append(out, checkDatabaseRules(s, refused)...)
	out = append(out, checkObjectStore(s, refused)...)
	out = append(out, checkPostgresMajor(s, refused, time.Now())...)
	if s.RBAC.ClusterWideRead && s.Environment == Production && !s.RBACClusterWideReadAcknowledged {
		out = append(out, problem(KeyRBACClusterWideRead.Name, "grants read on every resource, Secrets included; production needs `pulumi config set %s true` to accept that",
			KeyRBACClusterWideReadAcknowledged.FullName()))
	}
	return out
}

// checkPostgresMajor keeps the image on the data directory's major, and warns a
// production stack that runs a major past its end of life.
func checkPostgresMajor(s *Stack, refused keySet, now time.Time) (out []finding) {
	if s.Database != DatabaseInCluster {
		return
	}
	major := s.Postgres.MajorVersion
	if s.Postgres.Image != "" {
		if err := postgres.ImageMatchesMajor(s.Postgres.Image, major); err != nil {
			out = append(out, problem(KeyPostgresImage.Name, "%v (%s)", err, KeyPostgresMajorVersion.FullName()))
		}
	}
	if eol, err := time.Parse(time.DateOnly, pins.PostgresEndOfLife[major]); err == nil && now.After(eol) && s.Environment == Production {
		out = append(out, warning(fmt.Sprintf("%s: PostgreSQL %d reached its end of life on %s and gets no more fixes; plan the major upgrade (docs/operations.md: Upgrading PostgreSQL)",
			KeyPostgresMajorVersion.FullName(), major, pins.PostgresEndOfLife[major])))
	}
	return out
}

// checkAdmissionWebhook keeps the ingress-nginx webhook closed to pods: behind
// NetworkPolicies its port admits only the API server's addresses, which the stack must
// name, or the webhook does not run at all.
func checkAdmissionWebhook(s *Stack, refused keySet) (out []finding) {
	if !s.runsIngressNginx() {
		return
	}
	if !s.AdmissionWebhook {
		if len(s.WebhookSourceCIDRs) > 0 {
			out = append(out, problem(KeyIngressWebhookSourceCIDRs.Name, "is set but %s is false; remove it or turn the webhook on", KeyIngressAdmissionWebhook.Name))
		}
		if s.Environment == Production {
			out = append(out, warning(fmt.Sprintf("%s is false: no Ingress is checked before nginx loads it; set %s to the addresses your API server calls webhooks from and turn it on",
				KeyIngressAdmissionWebhook.FullName(), KeyIngressWebhookSourceCIDRs.FullName())))
		}
		return
	}
	if s.NetworkPolicies && len(s.WebhookSourceCIDRs) == 0 {
		out = append(out, problem(KeyIngressWebhookSourceCIDRs.Name, "is required while the ingress-nginx admission webhook runs behind NetworkPolicies: the API server must reach it and no pod may "+
			"(IngressNightmare, CVE-2025-1974); `pulumi config set --path '%s[0]' <the control plane's CIDR>`, or `pulumi config set %s false` to run without the webhook",
			KeyIngressWebhookSourceCIDRs.FullName(), KeyIngressAdmissionWebhook.FullName()))
	}
	return out
}

// checkPodAdditions: every mount names one of the stack's extra volumes, and the init
// containers and sidecars do not share a name.
func checkPodAdditions(s *Stack, refused keySet) (out []finding) {
	if refused.any(KeyExtraVolumes.Name) {
		return
	}
	volumes := s.App.ExtraVolumes
	if err := backstage.CheckMountsExist(s.App.ExtraVolumeMounts, volumes); err != nil && !refused.any(KeyExtraVolumeMounts.Name) {
		out = append(out, problem(KeyExtraVolumeMounts.Name, "%v (%s)", err, KeyExtraVolumes.FullName()))
	}
	for _, key := range []*Key[[]corev1.Container]{KeyInitContainers, KeySidecars} {
		if err := backstage.CheckContainerMounts(*key.Into(s), volumes); err != nil && !refused.any(key.Name) {
			out = append(out, problem(key.Name, "%v (%s)", err, KeyExtraVolumes.FullName()))
		}
	}
	if err := backstage.CheckContainersApart(s.App.InitContainers, s.App.Sidecars); err != nil && !refused.any(KeyInitContainers.Name, KeySidecars.Name) {
		out = append(out, problem(KeySidecars.Name, "and %s %v", KeyInitContainers.FullName(), err))
	}
	return out
}

// checkInertKeys refuses keys that do nothing in the stack's mode: a value the program
// would ignore is a setting someone believes in. Pulumi.yaml's defaults read as set, so
// only a value other than the key's default counts. The in-cluster database's keys stay
// allowed beside an external database: a move to one keeps the old server and its
// secrets for a move back, and its backups use postgresImage.
func checkInertKeys(s *Stack, refused keySet) (out []finding) {
	for _, group := range []struct {
		active bool
		mode   string
		fix    string
		keys   []entry
	}{
		{s.Database == DatabaseExternal, fmt.Sprintf("%s is %s", KeyDatabase.FullName(), s.Database), fmt.Sprintf("`%s external` uses it", KeyDatabase.FullName()),
			[]entry{KeyDatabasePort, KeyDatabaseUser, KeyDatabasePassword, KeyDatabaseSSLMode, KeyDatabaseSSLModeAcknowledged, KeyDatabaseCABundle, KeyDatabaseCIDRs}},
		{s.TLS.ACME(), fmt.Sprintf("%s is %s", KeyTLS.FullName(), s.TLS), "the letsencrypt issuers use it",
			[]entry{KeyACMEEmail}},
		{s.InstallSecurityLayer, fmt.Sprintf("%s is false", KeyInstallSecurityLayer.FullName()), "the security layer uses it",
			[]entry{KeyIngressNginxChartVersion, KeyCertManagerChartVersion, KeyChartRepository, KeyCertManagerChartPath, KeyIngressNginxChartPath}},
		{s.Edge != EdgeEnvoyGateway || s.Security.KeepIngressNginx, fmt.Sprintf("%s is envoy-gateway", KeyEdge.FullName()),
			"the ingress-nginx edge uses it, and " + KeyKeepIngressNginx.FullName() + " during a move",
			[]entry{KeyIngressNginxChartVersion, KeyIngressNginxChartPath, KeyIngressWebhookSourceCIDRs, KeyIngressClassName, KeyKindCluster, KeyIngressControllerNamespace, KeyIngressAdmissionWebhook}},
		{s.Edge == EdgeEnvoyGateway, fmt.Sprintf("%s is %s", KeyEdge.FullName(), orNotSet(s.Edge)), "it keeps ingress-nginx beside Envoy Gateway during a move, with `" + KeyEdge.FullName() + " envoy-gateway`",
			[]entry{KeyKeepIngressNginx}},
		{s.Edge == EdgeEnvoyGateway, fmt.Sprintf("%s is %s", KeyEdge.FullName(), orNotSet(s.Edge)), "`" + KeyEdge.FullName() + " envoy-gateway` uses it",
			[]entry{KeyEnvoyGatewayChartVersion, KeyEnvoyGatewayChartPath}},
		{s.Security.EnvoyGatewayChartPath == "", fmt.Sprintf("%s is set", KeyEnvoyGatewayChartPath.FullName()), "the local chart's own version is installed",
			[]entry{KeyEnvoyGatewayChartVersion}},
		{s.Security.CertManagerChartPath == "", fmt.Sprintf("%s is set", KeyCertManagerChartPath.FullName()), "the local chart's own version is installed",
			[]entry{KeyCertManagerChartVersion}},
		{s.Security.IngressNginxChartPath == "", fmt.Sprintf("%s is set", KeyIngressNginxChartPath.FullName()), "the local chart's own version is installed",
			[]entry{KeyIngressNginxChartVersion}},
		{s.Security.CertManagerChartPath == "" || s.edgeChartPath() == "",
			fmt.Sprintf("every chart the layer installs has a local path (%s and the edge's)", KeyCertManagerChartPath.FullName()), "every chart comes from its local path",
			[]entry{KeyChartRepository}},
	} {
		if group.active {
			continue
		}
		for _, key := range group.keys {
			if name := key.setting().Name; key.changed(s) && !refused[name] {
				out = append(out, problem(name, "is set, but %s, so it does nothing; remove it (%s)", group.mode, group.fix))
			}
		}
	}
	return out
}

// checkObjectStore keeps pgBackRest's settings to the in-cluster server, and a stack
// that starts from another's backups off that stack's folder.
func checkObjectStore(s *Stack, refused keySet) (out []finding) {
	if s.Backup == nil || s.Backup.ObjectStore == nil || refused.any(KeyBackup.Name) {
		return nil
	}
	store := s.Backup.ObjectStore
	if s.Database == DatabaseExternal {
		// The dumps go to the bucket; a server's first start from it is the in-cluster one's.
		if store.RestoreFrom != "" {
			out = append(out, problem(KeyBackup.Name, "has objectStore.restoreFrom, which starts the in-cluster server from another stack's archive, but %s is external: remove restoreFrom, and load a dump from the bucket with `make restore STACK=<stack> BACKUP=<run>` (docs/operations.md: Backups)",
				KeyDatabase.FullName()))
		}
		return out
	}
	if err := postgres.CarriesPgBackRest(s.Postgres.Image); err != nil && !refused.any(KeyPostgresImage.Name) {
		out = append(out, problem(KeyPostgresImage.Name, "%v; with %s.objectStore the server runs pgBackRest: remove %s (the default is %s), or name an image of yours that adds it",
			err, KeyBackup.FullName(), KeyPostgresImage.FullName(), pins.PgBackRestImage(s.Postgres.MajorVersion)))
	}
	if s.Upgrade != nil && !s.Upgrade.Done {
		out = append(out, problem(KeyBackup.Name, "has objectStore during a move to another major (%s): the new server is a new pgBackRest stanza, which the old one's folder would refuse; remove objectStore for the move, then set it again with a new prefix once %s.done is true (docs/operations.md: Backups)",
			KeyPostgresUpgrade.FullName(), KeyPostgresUpgrade.FullName()))
	}
	if prefix := cmp.Or(store.Prefix, "/"+s.Namespace); store.RestoreFrom == prefix && !refused.any(KeyNamespace.Name) {
		out = append(out, problem(KeyBackup.Name, "objectStore.restoreFrom is %s, this stack's own prefix (the namespace's, unless objectStore.prefix is set); a stack restores from another stack's folder and archives to its own: give objectStore.restoreFrom the other stack's prefix",
			prefix))
	}
	return out
}

// edgeChartPath is the local chart path of the edge the layer installs; empty when
// one of its charts (both, during a move) comes from a repository.
func (s *Stack) edgeChartPath() string {
	switch {
	case s.Edge != EdgeEnvoyGateway:
		return s.Security.IngressNginxChartPath
	case s.Security.KeepIngressNginx && s.Security.IngressNginxChartPath == "":
		return ""
	}
	return s.Security.EnvoyGatewayChartPath
}

func orNotSet(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}
