package config

import "github.com/arhean/backstage-pulumi/components"

// read fills a Stack from the stack's keys and their defaults; a value of the wrong type
// is recorded as a problem and replaced by its default. The defaults are the production
// choices in every environment (a development stack states its relaxations in its own
// file), and Pulumi.yaml declares the same ones, which a test keeps in step.
func (r *reader) read() *Stack {
	env := Environment(r.str("environment", ""))
	s := &Stack{
		Environment: env,
		Namespace:   r.str("namespace", "backstage"),
		Kubernetes: Kubernetes{
			Context:               r.str("kubeContext", ""),
			RenderYAMLToDirectory: r.str("renderYamlToDirectory", ""),
		},
		Security: Security{
			Install:                    r.boolean("installSecurityLayer", true),
			IngressNginxChartVersion:   r.str("ingressNginxChartVersion", components.DefaultIngressNginxChartVersion),
			CertManagerChartVersion:    r.str("certManagerChartVersion", components.DefaultCertManagerChartVersion),
			KindCluster:                r.boolean("kindCluster", false),
			TLS:                        TLSMode(r.str("tls", string(TLSLetsEncryptProd))),
			ACMEEmail:                  r.str("acmeEmail", ""),
			IngressClassName:           r.str("ingressClassName", "nginx"),
			IngressControllerNamespace: r.str("ingressControllerNamespace", "ingress-nginx"),
		},
		App: App{
			Image:              r.str("image", ""),
			InitImage:          r.str("initImage", components.DefaultInitImage),
			Replicas:           r.integer("replicas", 2),
			MaxUnavailable:     r.str("maxUnavailable", "0"),
			MaxSurge:           r.str("maxSurge", "1"),
			Host:               r.str("host", ""),
			HealthCheckPath:    r.str("healthCheckPath", "/healthcheck"),
			GitHubToken:        r.secret("githubToken"),
			GitHubClientID:     r.secret("githubClientId"),
			GitHubClientSecret: r.secret("githubClientSecret"),
		},
		Postgres: Postgres{
			Image:          r.str("postgresImage", components.DefaultPostgresImage),
			StorageClass:   r.str("postgresStorageClass", ""),
			StorageSize:    r.str("postgresStorageSize", components.DefaultStorageSize),
			MaxConnections: r.integer("postgresMaxConnections", components.DefaultMaxConnections),
			SharedBuffers:  r.str("postgresSharedBuffers", components.DefaultSharedBuffers),
			User:           r.str("postgresUser", "backstage"),
			Password:       r.secret("postgresPassword"),
			Protect:        r.boolean("protectDatabase", true),
		},
		RBAC: RBAC{
			ClusterWideRead:             r.boolean("rbacClusterWideRead", false),
			ClusterWideReadAcknowledged: r.boolean("rbacClusterWideReadAcknowledged", false),
		},
		NetworkPolicies: NetworkPolicies{
			Enabled:        r.boolean("networkPolicies", true),
			APIServerCIDRs: r.list("kubeApiServerCidrs"),
		},
	}
	return s
}
