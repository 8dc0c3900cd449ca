import * as pulumi from "@pulumi/pulumi";
import * as access from "@eks-cicd-access/sdk";

const config = new pulumi.Config();

// The role's path is stripped when written, as EKS's authenticator expects.
const entry = new access.AwsAuthEntry("release-bot", {
    cluster: config.require("clusterName"),
    key: access.MapKey.MapRoles,
    arn: config.require("principalArn"),
    username: "release-bot",
    groups: ["release-bots"],
    kubeconfig: config.requireSecret("kubeconfig"),
});

export const mapped = pulumi.interpolate`${entry.arn} -> ${entry.username}`;
