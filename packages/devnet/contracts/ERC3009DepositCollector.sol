// SPDX-License-Identifier: MIT-0
pragma solidity ^0.8.28;

/// @dev The EIP-3009 entry point the collector uses (bytes-signature form, as Circle's USDC v2.2).
interface IERC3009Receive {
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external;

    function transfer(address to, uint256 value) external returns (bool);
}

/// @title ERC-3009 deposit collector for x402 batch-settlement channels (devnet)
/// @notice Pulls a channel deposit from the payer with an EIP-3009 `receiveWithAuthorization` the
/// payer signed to this contract, and hands it to the channel contract. Per the x402
/// batch-settlement EVM spec and the npm package x402/evm 2.27: `collectorData` is
/// `abi.encode(uint256 validAfter, uint256 validBefore, uint256 salt, bytes signature)` and the
/// authorization nonce is `keccak256(abi.encode(bytes32 channelId, uint256 salt))`, so a signed
/// deposit is only good for the one channel it names.
/// @dev Only the channel contract may call `collect`: it computes `channelId` from the config
/// itself, and the tokens go straight back to it. Its address is a constant (the devnet places
/// both contracts at their fixed addresses with anvil_setCode), so there is no constructor state.
contract ERC3009DepositCollector {
    /// @notice The batch-settlement channel contract (the canonical address of the npm package x402/evm).
    address public constant BATCH_SETTLEMENT = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;

    error OnlyBatchSettlement();
    error TokenTransferFailed();

    /// @notice Collects `amount` of `token` from `payer` for `channelId` and sends it to the channel
    /// contract. The token checks the payer's signature, the validity window and the nonce.
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata collectorData)
        external
    {
        if (msg.sender != BATCH_SETTLEMENT) revert OnlyBatchSettlement();
        (uint256 validAfter, uint256 validBefore, uint256 salt, bytes memory signature) =
            abi.decode(collectorData, (uint256, uint256, uint256, bytes));
        bytes32 nonce = keccak256(abi.encode(channelId, salt));
        IERC3009Receive(token).receiveWithAuthorization(
            payer, address(this), amount, validAfter, validBefore, nonce, signature
        );
        (bool ok, bytes memory result) = token.call(abi.encodeCall(IERC3009Receive.transfer, (msg.sender, amount)));
        if (!ok || (result.length != 0 && !abi.decode(result, (bool)))) revert TokenTransferFailed();
    }
}
