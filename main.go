// Command backstage deploys Backstage on Kubernetes: `pulumi up -s <stack>`.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/program"
)

func main() { pulumi.Run(program.Run) }
