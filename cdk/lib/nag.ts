import { type CfnElement, type Stack, Token } from 'aws-cdk-lib';

/**
 * How cdk-nag spells this stack's region and account inside finding ids such as
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<region>:<account>:...]`: the concrete
 * value when known at synth, else the pseudo parameter in angle brackets.
 */
export function nagPseudo(stack: Stack): { region: string; account: string } {
  return {
    region: Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region,
    account: Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account,
  };
}

/** How cdk-nag spells a `Ref` to a resource of this stack inside a finding id. */
export function nagRef(stack: Stack, element: CfnElement): string {
  return `<${stack.getLogicalId(element)}>`;
}

/** How cdk-nag spells `Fn::GetAtt [resource, attribute]` inside a finding id. */
export function nagGetAtt(stack: Stack, element: CfnElement, attribute: string): string {
  return `<${stack.getLogicalId(element)}.${attribute}>`;
}
