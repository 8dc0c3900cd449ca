// Two teams' CI (an IAM user with a key, a GitHub Actions role) and one more mapped role, from Java.
package myproject;

import com.pulumi.Context;
import com.pulumi.Pulumi;
import com.pulumi.ekscicdaccess.AwsAuthEntry;
import com.pulumi.ekscicdaccess.AwsAuthEntryArgs;
import com.pulumi.ekscicdaccess.EksCicdAccess;
import com.pulumi.ekscicdaccess.EksCicdAccessArgs;
import com.pulumi.ekscicdaccess.enums.Identity;
import com.pulumi.ekscicdaccess.enums.MapKey;
import com.pulumi.ekscicdaccess.outputs.AccessKey;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

public class App {
    public static void main(String[] args) {
        Pulumi.run(App::stack);
    }

    private static void stack(Context ctx) {
        var config = ctx.config();
        var clusterName = config.require("clusterName");
        // Whoever runs this may edit kube-system/aws-auth: an admin kubeconfig, kept secret.
        var kubeconfig = config.requireSecret("kubeconfig");

        var teamA = new EksCicdAccess("team-a", EksCicdAccessArgs.builder()
            .clusterName(clusterName)
            .namespace("team-a")
            .kubeconfig(kubeconfig)
            .build());

        var teamB = new EksCicdAccess("team-b", EksCicdAccessArgs.builder()
            .clusterName(clusterName)
            .namespace("team-b")
            .identity(Identity.GithubActions)
            .oidcSubjects("repo:acme/team-b:environment:production")
            .createOidcProvider(true)
            .kubeconfig(kubeconfig)
            .build());

        var releaseBot = new AwsAuthEntry("release-bot", AwsAuthEntryArgs.builder()
            .cluster(clusterName)
            .key(MapKey.MapRoles)
            .arn(config.require("principalArn"))
            .username("release-bot")
            .groups("release-bots")
            .kubeconfig(kubeconfig)
            .build());

        ctx.export("teamAUser", teamA.iamUserName());
        ctx.export("teamAAccessKeyId", teamA.accessKeyId());
        ctx.export("teamASecretAccessKey", teamA.secretAccessKey());
        // The Java SDK cannot export an object type's class (AccessKey) as is: plain maps, still secret.
        ctx.export("teamAAccessKeys", teamA.accessKeys().applyValue(App::plainKeys));
        ctx.export("teamAKubeconfig", teamA.kubeconfig());
        ctx.export("teamBRoleArn", teamB.iamRoleArn());
        ctx.export("mappedUser", releaseBot.username());
    }

    /** Each key by label as the other languages export it: {"id", "secret", "encryptedSecret"}. */
    private static Map<String, Map<String, String>> plainKeys(Optional<Map<String, AccessKey>> keys) {
        var plain = new TreeMap<String, Map<String, String>>();
        keys.orElse(Map.of()).forEach((label, key) -> {
            var fields = new LinkedHashMap<String, String>();
            fields.put("id", key.id());
            fields.put("secret", key.secret().orElse(null));
            fields.put("encryptedSecret", key.encryptedSecret().orElse(null));
            plain.put(label, fields);
        });
        return plain;
    }
}
