package stackrun

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// HelmReleaseType is how the program installed its charts before it used Charts.
const HelmReleaseType = "kubernetes:helm.sh/v3:Release"

// MoveReleasesToCharts moves a stack whose charts were helm.sh/v3 Releases onto the
// program's Charts without stopping a controller: it forgets the Releases, then runs
// one `up` that takes the objects over from Helm's field manager. Without the forced
// apply, server-side apply refuses the fields Helm wrote in another form (an env
// fieldRef, a webhook's rules); once Pulumi owns them, later runs need no force.
func MoveReleasesToCharts(ctx context.Context, s auto.Stack, opts ...optup.Option) ([]string, *auto.UpResult, error) {
	removed, err := ForgetHelmReleases(ctx, s)
	if err != nil || len(removed) == 0 {
		return removed, nil, err
	}
	const force = "PULUMI_K8S_ENABLE_PATCH_FORCE"
	s.Workspace().SetEnvVar(force, "true")
	defer s.Workspace().UnsetEnvVar(force)
	res, err := s.Up(ctx, opts...)
	if err != nil {
		return removed, nil, fmt.Errorf("the Releases are forgotten but the Charts did not take over (run migrate-charts again): %w", err)
	}
	return removed, &res, nil
}

// ForgetHelmReleases removes every helm.sh/v3 Release from the stack's state, and every
// reference to one, without touching the cluster. Run before the first `up` with
// Charts: a Release that left the program would otherwise be uninstalled at the end of
// that `up`, deleting the very objects the Charts have just taken over. The next `up`
// adopts the objects in place (server-side apply upserts), so the controllers keep
// running. It returns the URNs it removed; the release records Helm keeps in Secrets
// stay in the cluster for the caller to delete.
func ForgetHelmReleases(ctx context.Context, s auto.Stack) ([]string, error) {
	exported, err := s.Export(ctx)
	if err != nil {
		return nil, err
	}
	edited, removed, err := withoutHelmReleases(exported.Deployment)
	if err != nil || len(removed) == 0 {
		return nil, err
	}
	if err := s.Import(ctx, apitype.UntypedDeployment{Version: exported.Version, Deployment: edited}); err != nil {
		return nil, fmt.Errorf("writing the state back: %w", err)
	}
	return removed, nil
}

// withoutHelmReleases edits an exported deployment: the Releases go, and so does every
// reference other resources hold to them.
func withoutHelmReleases(exported json.RawMessage) (json.RawMessage, []string, error) {
	var deployment map[string]any
	if err := json.Unmarshal(exported, &deployment); err != nil {
		return nil, nil, fmt.Errorf("reading the exported state: %w", err)
	}
	resources, _ := deployment["resources"].([]any)
	var removed []string
	var kept []any
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["type"] == HelmReleaseType {
			removed = append(removed, fmt.Sprint(res["urn"]))
			continue
		}
		kept = append(kept, res)
	}
	if len(removed) == 0 {
		return exported, nil, nil
	}
	for _, r := range kept {
		dropReferences(r.(map[string]any), removed)
	}
	deployment["resources"] = kept
	edited, err := json.Marshal(deployment)
	return edited, removed, err
}

// dropReferences removes the URNs from a resource's dependencies.
func dropReferences(res map[string]any, urns []string) {
	without := func(list []any) []any {
		return slices.DeleteFunc(list, func(v any) bool { return slices.Contains(urns, fmt.Sprint(v)) })
	}
	if deps, ok := res["dependencies"].([]any); ok {
		res["dependencies"] = without(deps)
	}
	if byProperty, ok := res["propertyDependencies"].(map[string]any); ok {
		for key, deps := range byProperty {
			if list, ok := deps.([]any); ok {
				byProperty[key] = without(list)
			}
		}
	}
	if deletedWith, ok := res["deletedWith"].(string); ok && slices.Contains(urns, deletedWith) {
		delete(res, "deletedWith")
	}
}
