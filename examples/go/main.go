// Two teams' CI (a GitHub Actions role, an IAM user with a key) and one more mapped role, from Go.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	access "eks-cicd-access.invalid/sdk/go/ekscicdaccess"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		clusterName := cfg.Require("clusterName")
		kubeconfig := cfg.RequireSecret("kubeconfig")

		team, err := access.NewEksCicdAccess(ctx, "team-go", &access.EksCicdAccessArgs{
			ClusterName:        pulumi.String(clusterName),
			Namespace:          pulumi.String("team-go"),
			Identity:           ref(access.IdentityGithubActions),
			OidcSubjects:       []string{"repo:acme/team-go:ref:refs/heads/main"},
			CreateOidcProvider: pulumi.BoolRef(true),
			Kubeconfig:         kubeconfig,
		})
		if err != nil {
			return err
		}
		user, err := access.NewEksCicdAccess(ctx, "team-go-user", &access.EksCicdAccessArgs{
			ClusterName: pulumi.String(clusterName),
			Namespace:   pulumi.String("team-go-user"),
			Kubeconfig:  kubeconfig,
		})
		if err != nil {
			return err
		}
		entry, err := access.NewAwsAuthEntry(ctx, "deployer", &access.AwsAuthEntryArgs{
			Cluster:    pulumi.String(clusterName),
			Key:        access.MapKeyMapRoles,
			Arn:        pulumi.String(cfg.Require("principalArn")),
			Username:   pulumi.String("deployer"),
			Kubeconfig: kubeconfig,
		})
		if err != nil {
			return err
		}
		ctx.Export("teamRoleArn", team.IamRoleArn)
		ctx.Export("userAccessKeyId", user.AccessKeyId)
		ctx.Export("userSecretAccessKey", user.SecretAccessKey)
		ctx.Export("userAccessKeys", user.AccessKeys)
		ctx.Export("mappedUser", entry.Username)
		return nil
	})
}

// ref is a pointer to v: the component's plain optional arguments (enums among them) are pointers.
func ref[T any](v T) *T { return &v }
