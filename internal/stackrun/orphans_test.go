package stackrun

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOnlyPendingCreatesOfKubernetesObjectsAreReleased(t *testing.T) {
	op := func(typ apitype.OperationType, token, apiVersion, kind, name, namespace string) apitype.OperationV2 {
		return apitype.OperationV2{Type: typ, Resource: apitype.ResourceV3{
			Type: tokens.Type(token),
			Inputs: map[string]any{"apiVersion": apiVersion, "kind": kind,
				"metadata": map[string]any{"name": name, "namespace": namespace}},
		}}
	}
	d := &apitype.DeploymentV3{PendingOperations: []apitype.OperationV2{
		op(apitype.OperationTypeCreating, "kubernetes:apps/v1:Deployment", "apps/v1", "Deployment", "backstage", "backstage"),
		op(apitype.OperationTypeCreating, "kubernetes:core/v1:ConfigMap", "v1", "ConfigMap", "backstage-app-config", "backstage"),
		op(apitype.OperationTypeCreating, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "rbac.authorization.k8s.io/v1", "ClusterRole", "backstage-backend", ""),
		op(apitype.OperationTypeUpdating, "kubernetes:apps/v1:StatefulSet", "apps/v1", "StatefulSet", "psql-postgresql", "backstage"),
		op(apitype.OperationTypeCreating, "backstage:index:Backstage", "", "", "backstage", ""),
	}}
	assert.Equal(t, []kubeObject{
		{Resource: "Deployment.apps", Name: "backstage", Namespace: "backstage"},
		{Resource: "ConfigMap", Name: "backstage-app-config", Namespace: "backstage"},
		{Resource: "ClusterRole.rbac.authorization.k8s.io", Name: "backstage-backend"},
	}, pendingCreatedObjects(d), "an update keeps the state's manager; a component is no object")
	assert.Empty(t, pendingCreatedObjects(nil))
}

func TestThePatchRemovesOnlyTheProvidersManagersEachGuardedByItsName(t *testing.T) {
	patch, managers := providerManagersPatch([]managedFieldsEntry{
		{Manager: "pulumi-kubernetes-0a1b2c3d", Operation: "Apply"},
		{Manager: "kube-controller-manager", Operation: "Update"},
		{Manager: "pulumi-kubernetes-9f8e7d6c", Operation: "Apply"},
		{Manager: "kubectl-edit", Operation: "Update"},
	})
	assert.Equal(t, []string{"pulumi-kubernetes-9f8e7d6c", "pulumi-kubernetes-0a1b2c3d"}, managers)
	var ops []map[string]any
	require.NoError(t, json.Unmarshal(patch, &ops))
	assert.Equal(t, []map[string]any{
		{"op": "test", "path": "/metadata/managedFields/2/manager", "value": "pulumi-kubernetes-9f8e7d6c"},
		{"op": "remove", "path": "/metadata/managedFields/2"},
		{"op": "test", "path": "/metadata/managedFields/0/manager", "value": "pulumi-kubernetes-0a1b2c3d"},
		{"op": "remove", "path": "/metadata/managedFields/0"},
	}, ops, "from the last entry down, so that earlier indexes stay valid")

	patch, managers = providerManagersPatch([]managedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: "Update"}})
	assert.Nil(t, patch, "another tool's manager is never dropped")
	assert.Empty(t, managers)
}
