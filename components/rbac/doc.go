// Package rbac is the RBAC component: the ServiceAccount Backstage runs as and the
// read-only ClusterRole and binding its Kubernetes plugin needs.
package rbac
