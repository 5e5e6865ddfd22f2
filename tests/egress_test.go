package tests

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The traffic matrix's egress scenario: a private service by address and a cache in
// another namespace by its pods (tests/traffic judges the flows).
func withEgressRules(t *testing.T, stack string) stackConfig {
	return loadStack(t, stack).
		with("egressRules", `[{"cidrs":["10.1.2.0/24"],"ports":[{"port":8200}]},`+
			`{"namespace":"cache","podSelector":{"matchLabels":{"app":"redis"}},"ports":[{"port":6379,"protocol":"TCP"}]},`+
			`{"cidrs":["10.1.3.0/24"],"ports":[{"port":636},{"port":8000,"endPort":8010}],"reason":"LDAPS and the proxy pool"}]`).
		with("metadataEgress", "true")
}

// Each rule becomes one egress rule of Backstage's policy, after the program's own, in
// NetworkPolicy's shape; the metadata service opens on port 80 only when asked.
func TestEgressRulesReachBackstagesPolicy(t *testing.T) {
	rec := mustRun(t, withEgressRules(t, "prod"))
	egress := plain(get(rec.kube(t, typeNetPol, "backstage-egress").Inputs, "spec", "egress")).([]any)
	byCIDR := map[string]map[string]any{}
	var byPods map[string]any
	for _, r := range egress {
		rule := r.(map[string]any)
		to := rule["to"].([]any)[0].(map[string]any)
		if block, ok := to["ipBlock"].(map[string]any); ok {
			byCIDR[block["cidr"].(string)] = rule
		} else if ns, ok := to["namespaceSelector"]; ok {
			assert.Equal(t, "cache", ns.(map[string]any)["matchLabels"].(map[string]any)["kubernetes.io/metadata.name"])
			byPods = rule
		}
	}
	require.Contains(t, byCIDR, "10.1.2.0/24")
	assert.Equal(t, []any{map[string]any{"port": 8200.0}}, byCIDR["10.1.2.0/24"]["ports"])
	assert.Equal(t, 8010.0, byCIDR["10.1.3.0/24"]["ports"].([]any)[1].(map[string]any)["endPort"])
	require.NotNil(t, byPods)
	assert.Equal(t, "redis", byPods["to"].([]any)[0].(map[string]any)["podSelector"].(map[string]any)["matchLabels"].(map[string]any)["app"])
	assert.Equal(t, []any{map[string]any{"port": 80.0, "protocol": "TCP"}}, byCIDR["169.254.169.254/32"]["ports"])

	plainRec := mustRun(t, loadStack(t, "prod"))
	rules, err := json.Marshal(plain(get(plainRec.kube(t, typeNetPol, "backstage-egress").Inputs, "spec", "egress")))
	require.NoError(t, err)
	assert.NotContains(t, string(rules), "169.254.169.254", "no metadata egress unless asked")
	withMetadata, err := json.Marshal(egress)
	require.NoError(t, err)
	assert.Contains(t, string(withMetadata), "169.254.169.254", "the same check sees the rule when it is asked for")
}

// Rules that open more than a rule can mean are refused in every environment, naming
// the key; wide ones need a reason in production and are only warned about elsewhere.
func TestEgressRulesThatOpenTooMuchAreRefused(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{`[{"cidrs":["0.0.0.0/0"],"ports":[{"port":443}]}]`, "covers the whole address space"},
		{`[{"cidrs":["0.0.0.0/1","128.0.0.0/1"],"ports":[{"port":443}]}]`, "covers the whole address space"},
		{`[{"cidrs":["::/0"],"ports":[{"port":443}]}]`, "covers the whole address space"},
		{`[{"cidrs":["169.254.0.0/16"],"ports":[{"port":80}]}]`, "169.254.169.254, the cloud metadata service"},
		{`[{"cidrs":["169.254.170.23/32"],"ports":[{"port":80}]}]`, "169.254.170.23, the cloud metadata service"},
		{`[{"cidrs":["10.1.2.0/24"]}]`, "has no ports, which would open every port"},
		{`[{"cidrs":["10.1.2.0/24"],"ports":[{"protocol":"TCP"}]}]`, "without port"},
		{`[{"cidrs":["10.1.2.0/24"],"ports":[{"port":1,"endPort":2000}]}]`, "span 2000 ports"},
		{`[{"cidrs":["10.1.2.0/24"],"ports":[{"port":90,"endPort":80}]}]`, "endPort 80 is not from port 90"},
		{`[{"cidrs":["10.1.2.0/24"],"ports":[{"port":"http"}]}]`, "is a name, which only a pod's ports have"},
		{`[{"cidrs":["10.1.2.3/24"],"ports":[{"port":443}]}]`, "has host bits set; write 10.1.2.0/24"},
		{`[{"cidrs":["10.1.2.0/24"],"namespace":"x","ports":[{"port":443}]}]`, "names both cidrs and namespace"},
		{`[{"ports":[{"port":443}]}]`, "names no destination"},
		{`[{"namespace":"Not_A_Namespace","ports":[{"port":443}]}]`, "is not a namespace name"},
		{`[{"cidrs":["10.1.2.0/24"],"ports":[{"port":443,"protocol":"ICMP"}]}]`, `protocol "ICMP"`},
		{`[{"cidrs":["10.1.2.0/24"],"port":[{"port":443}]}]`, `unknown field "port"`},
	} {
		rec, err := run(t, loadStack(t, "dev").with("egressRules", c.value))
		require.Error(t, err, c.value)
		assert.Contains(t, err.Error(), "backstage:egressRules: ", c.value)
		assert.Contains(t, err.Error(), c.want, c.value)
		assert.Empty(t, rec.Registrations(), "nothing is registered")
	}

	apiServer := loadStack(t, "dev").with("kubeApiServerCidrs", `["172.18.0.2/32"]`).with("egressRules", `[{"cidrs":["172.18.0.0/24"],"ports":[{"port":6443}]}]`)
	_, err := run(t, apiServer)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:egressRules: [0] 172.18.0.0/24 overlaps the API server's 172.18.0.2/32, which has a setting of its own; leave it to that setting (backstage:kubeApiServerCidrs)")

	_, err = run(t, loadStack(t, "dev").with("networkPolicies", "false").with("egressRules", `[{"cidrs":["10.1.2.0/24"],"ports":[{"port":443}]}]`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backstage:egressRules: is set but backstage:networkPolicies is false")

	for _, wide := range []string{
		`[{"cidrs":["10.0.0.0/8"],"ports":[{"port":443}]}]`,
		`[{"namespace":"cache","ports":[{"port":6379}]}]`,
		`[{"cidrs":["10.1.2.0/24"],"ports":[{"port":8000,"endPort":8200}]}]`,
	} {
		_, err := run(t, loadStack(t, "prod").with("egressRules", wide))
		require.Error(t, err, wide)
		assert.Contains(t, err.Error(), "production needs it narrowed, or a reason", wide)
		withReason := wide[:len(wide)-2] + `,"reason":"the platform's proxies"}]`
		mustRun(t, loadStack(t, "prod").with("egressRules", withReason))
		assert.NotEmpty(t, warningsAbout(loadConfig(t, loadStack(t, "dev").with("egressRules", wide)).Warnings, "backstage:egressRules"), "outside production a warning: %s", wide)
	}
}
