import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as access from "@eks-cicd-access/sdk";

const config = new pulumi.Config();
const clusterName = config.require("clusterName");
// Whoever runs this may edit kube-system/aws-auth: an admin kubeconfig, kept secret.
const kubeconfig = config.requireSecret("kubeconfig");
const cluster = new k8s.Provider("cluster", { kubeconfig });

const teamA = new access.EksCicdAccess("team-a", {
    clusterName,
    namespace: "team-a",
    kubeconfig,
}, { providers: [cluster] });

const teamB = new access.EksCicdAccess("team-b", {
    clusterName,
    namespace: "team-b",
    identity: access.Identity.GithubActions,
    oidcSubjects: ["repo:acme/team-b:environment:production"],
    createOidcProvider: true,
    maxSessionDuration: 7200, // two hours for a long rollout
    kubeconfig,
}, { providers: [cluster] });

export const teamAUser = teamA.iamUserName;
export const teamAAccessKeyId = teamA.accessKeyId;
export const teamASecretAccessKey = teamA.secretAccessKey;
export const teamAAccessKeys = teamA.accessKeys;
export const teamBRoleArn = teamB.iamRoleArn;
export const teamBKubeconfig = teamB.kubeconfig;
