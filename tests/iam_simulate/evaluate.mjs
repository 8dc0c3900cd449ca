// Evaluates one IAM trust policy for a batch of requests with @cloud-copilot/iam-simulate.
// stdin:  {"policy": {...}, "requests": [{"principal", "action", "role", "account", "context": {...}}]}
// stdout: {"validation": [...errors...], "results": ["Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied", ...]}
//
// runUnsafeSimulation: the strict entry point drops context keys that AWS's service reference does not
// list for sts:AssumeRoleWithWebIdentity, and `<issuer>:sub` / `<issuer>:aud` of an OIDC provider are
// among them. The policy itself is validated as a trust policy first, and the errors are reported.
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { policy, requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const validation = validateTrustPolicy(policy)
// runUnsafeSimulation answers with the overall decision itself.
const results = requests.map((request) =>
  runUnsafeSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: createValidatedPolicy(policy, validateTrustPolicy, { name: 'trust-policy' }),
      request: {
        action: request.action,
        principal: request.principal,
        resource: { accountId: request.account, resource: request.role },
        contextVariables: request.context
      }
    },
    {}
  )
)
process.stdout.write(JSON.stringify({ validation, results }))
