// Package netpol holds the building blocks of NetworkPolicies (ports, peers, types)
// that the namespace's and the ingress controller's policies are written with.
package netpol
