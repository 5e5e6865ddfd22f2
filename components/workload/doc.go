// Package workload holds the building blocks every component's builders share: object
// metadata, pod and container security contexts, resources and scheduling, probes,
// volumes, disruption budgets and claims. It registers nothing.
package workload
