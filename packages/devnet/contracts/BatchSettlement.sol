// SPDX-License-Identifier: MIT-0
pragma solidity ^0.8.28;

/// @dev What the channel contract needs from a token: plain ERC-20 reads and transfers.
interface IERC20Minimal {
    function balanceOf(address account) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @dev A deposit collector moves `amount` of `token` from `payer` to the channel contract (the
/// caller), by whatever authorization `collectorData` carries. The channel contract checks its own
/// token balance before and after, so a collector can never credit more than it delivered.
interface IDepositCollector {
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata collectorData)
        external;
}

/// @title x402 batch-settlement channels (devnet)
/// @notice Stateless unidirectional payment channels for the x402 `batch-settlement` scheme, written
/// from the scheme's EVM spec (specs/schemes/batch-settlement/scheme_batch_settlement_evm.md in
/// x402-foundation/x402) with the ABI, EIP-712 domain and types of the npm package x402/evm 2.27. A payer
/// deposits once; the receiver claims cumulative vouchers (many channels per transaction), sweeps
/// claimed funds with `settle`, and returns the unclaimed rest with a cooperative refund; a timed
/// withdrawal is the payer's escape hatch.
/// @dev The devnet places this runtime code at 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003 with
/// anvil_setCode, so there is no constructor, no immutable and no constructor-set storage: the
/// EIP-712 domain is computed per call from block.chainid and address(this).
contract BatchSettlement {
    // ---- types ----

    /// @notice A channel's immutable configuration; its EIP-712 hash is the channel id.
    struct ChannelConfig {
        address payer;
        address payerAuthorizer; // EOA that signs vouchers, or 0: vouchers are checked against payer (EIP-1271 too)
        address receiver;
        address receiverAuthorizer; // authorizes claims and refunds by EIP-712 signature; never 0
        address token;
        uint40 withdrawDelay;
        bytes32 salt;
    }

    struct Voucher {
        ChannelConfig channel;
        uint128 maxClaimableAmount;
    }

    /// @notice One row of a claim: the payer's voucher, its signature, and the new cumulative total
    /// the receiver claims (at most the voucher's ceiling and the channel balance).
    struct VoucherClaim {
        Voucher voucher;
        bytes signature;
        uint128 totalClaimed;
    }

    /// @dev One storage slot per channel: the refund nonce shares it with the amounts, so a refund
    /// advances the nonce without a fresh slot (about 20,000 gas less for the first refund). 96 bits
    /// hold 7.9e28 atomic units, far beyond any token supply; larger amounts revert.
    struct Channel {
        uint96 balance; // deposited minus refunded and withdrawn; includes what was claimed
        uint96 totalClaimed; // cumulative claimed for the receiver; never exceeds balance
        uint64 refundNonce; // next nonce refundWithSignature accepts
    }

    struct PendingWithdrawal {
        uint128 amount;
        uint40 initiatedAt;
    }

    struct ReceiverTotals {
        uint128 totalClaimed;
        uint128 totalSettled;
    }

    // ---- EIP-712 ----

    string public constant NAME = "x402 Batch Settlement";
    string public constant VERSION = "1";
    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 public constant CHANNEL_CONFIG_TYPEHASH = keccak256(
        "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
    );
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint128 maxClaimableAmount)");
    bytes32 public constant REFUND_TYPEHASH = keccak256("Refund(bytes32 channelId,uint256 nonce,uint128 amount)");
    bytes32 public constant CLAIM_ENTRY_TYPEHASH =
        keccak256("ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)");
    bytes32 public constant CLAIM_BATCH_TYPEHASH = keccak256(
        "ClaimBatch(ClaimEntry[] claims)ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)"
    );

    /// @notice Withdrawal delay bounds (15 minutes to 30 days), per the spec.
    uint40 public constant MIN_WITHDRAW_DELAY = 900;
    uint40 public constant MAX_WITHDRAW_DELAY = 2_592_000;

    /// @dev secp256k1n / 2: signatures with a larger s are malleable copies (EIP-2).
    uint256 private constant HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    bytes4 private constant EIP1271_MAGIC_VALUE = 0x1626ba7e;

    // ---- storage ----

    mapping(bytes32 channelId => Channel) private _channels;
    mapping(bytes32 channelId => PendingWithdrawal) public pendingWithdrawals;
    mapping(address receiver => mapping(address token => ReceiverTotals)) public receivers;

    /// @dev Reentrancy lock in transient storage (EIP-1153): nothing to initialise, nothing persists.
    bool private transient _locked;

    // ---- events ----

    event ChannelCreated(bytes32 indexed channelId, ChannelConfig config);
    event ChannelClosed(bytes32 indexed channelId, ChannelConfig config);
    event Deposited(
        bytes32 indexed channelId, address indexed sender, address indexed collector, uint128 amount, uint128 balance
    );
    event Claimed(bytes32 indexed channelId, address indexed sender, uint128 amount, uint128 totalClaimed);
    event Settled(address indexed receiver, address indexed token, address indexed sender, uint128 amount);
    event WithdrawInitiated(bytes32 indexed channelId, uint128 amount, uint40 finalizeAfter);
    event WithdrawFinalized(bytes32 indexed channelId, uint128 amount);
    event Refunded(bytes32 indexed channelId, address indexed sender, uint128 amount, uint256 nonce);

    // ---- errors ----

    error Reentrancy();
    error InvalidConfig();
    error WithdrawDelayOutOfRange(uint40 withdrawDelay);
    error ZeroAmount();
    error DepositShortfall(uint256 expected, uint256 received);
    error NotPayer();
    error NotReceiver();
    error EmptyClaims();
    error InvalidVoucherSignature(bytes32 channelId);
    error ClaimExceedsVoucher(bytes32 channelId, uint128 totalClaimed, uint128 maxClaimableAmount);
    error ClaimExceedsBalance(bytes32 channelId, uint128 totalClaimed, uint128 balance);
    error ClaimBelowClaimed(bytes32 channelId, uint128 totalClaimed, uint128 onchainTotalClaimed);
    error ReceiverAuthorizerMismatch();
    error InvalidAuthorizerSignature();
    error InvalidRefundNonce(uint256 expected, uint256 given);
    error WithdrawalPending();
    error NoPendingWithdrawal();
    error WithdrawalTooEarly(uint40 finalizeAfter);
    error WithdrawExceedsAvailable(uint128 amount, uint128 available);
    error TokenTransferFailed();
    error AmountTooLarge();

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    // ---- deposit ----

    /// @notice Adds `amount` to the channel of `config`, pulled by `collector` with `collectorData`
    /// (the ERC-3009 collector: a receiveWithAuthorization signed by the payer). With
    /// `collector == address(0)` the payer deposits directly from an ERC-20 allowance to this contract.
    /// The first deposit creates the channel.
    function deposit(ChannelConfig calldata config, uint128 amount, address collector, bytes calldata collectorData)
        external
        nonReentrant
    {
        _validateConfig(config);
        if (amount == 0) revert ZeroAmount();
        bytes32 channelId = getChannelId(config);
        IERC20Minimal token = IERC20Minimal(config.token);
        uint256 before = token.balanceOf(address(this));
        if (collector == address(0)) {
            if (msg.sender != config.payer) revert NotPayer();
            _safeTransferFrom(config.token, msg.sender, amount);
        } else {
            IDepositCollector(collector).collect(config.payer, config.token, amount, channelId, collectorData);
        }
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert DepositShortfall(amount, received);

        Channel storage channel = _channels[channelId];
        uint96 previous = channel.balance;
        uint96 balance = _toUint96(uint256(previous) + amount);
        channel.balance = balance;
        if (previous == 0) emit ChannelCreated(channelId, config);
        emit Deposited(channelId, msg.sender, collector, amount, balance);
    }

    // ---- claim and settle ----

    /// @notice Claims vouchers on many channels; the caller must be each row's receiver or
    /// receiverAuthorizer. Only accounting moves; `settle` transfers.
    function claim(VoucherClaim[] calldata voucherClaims) external nonReentrant {
        uint256 count = voucherClaims.length;
        if (count == 0) revert EmptyClaims();
        for (uint256 i = 0; i < count; ++i) {
            ChannelConfig calldata config = voucherClaims[i].voucher.channel;
            if (msg.sender != config.receiver && msg.sender != config.receiverAuthorizer) revert NotReceiver();
            _applyClaim(voucherClaims[i], getChannelId(config));
        }
    }

    /// @notice Claims vouchers on many channels with one EIP-712 `ClaimBatch` signature from the
    /// rows' common receiverAuthorizer; anyone may relay it.
    function claimWithSignature(VoucherClaim[] calldata voucherClaims, bytes calldata authorizerSignature)
        external
        nonReentrant
    {
        uint256 count = voucherClaims.length;
        if (count == 0) revert EmptyClaims();
        address authorizer = voucherClaims[0].voucher.channel.receiverAuthorizer;
        bytes32[] memory channelIds = new bytes32[](count);
        bytes32[] memory entryHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            VoucherClaim calldata row = voucherClaims[i];
            if (row.voucher.channel.receiverAuthorizer != authorizer) revert ReceiverAuthorizerMismatch();
            bytes32 channelId = getChannelId(row.voucher.channel);
            channelIds[i] = channelId;
            entryHashes[i] = _claimEntryHash(channelId, row.voucher.maxClaimableAmount, row.totalClaimed);
        }
        bytes32 digest = _hashTypedData(keccak256(abi.encode(CLAIM_BATCH_TYPEHASH, _hashArray(entryHashes))));
        if (!_isValidSignature(authorizer, digest, authorizerSignature)) revert InvalidAuthorizerSignature();
        for (uint256 i = 0; i < count; ++i) {
            _applyClaim(voucherClaims[i], channelIds[i]);
        }
    }

    /// @notice Transfers everything claimed but not yet settled for `receiver` and `token` to the
    /// receiver, in one transfer. Permissionless; a no-op when nothing is due.
    function settle(address receiver, address token) external nonReentrant {
        ReceiverTotals storage totals = receivers[receiver][token];
        uint128 amount = totals.totalClaimed - totals.totalSettled;
        if (amount == 0) return;
        totals.totalSettled = totals.totalClaimed;
        _safeTransfer(token, receiver, amount);
        emit Settled(receiver, token, msg.sender, amount);
    }

    // ---- cooperative refund ----

    /// @notice Returns up to `amount` of the unclaimed balance to the payer; caller: receiver or
    /// receiverAuthorizer. Advances the refund nonce even when nothing is left to return.
    function refund(ChannelConfig calldata config, uint128 amount) external nonReentrant {
        if (msg.sender != config.receiver && msg.sender != config.receiverAuthorizer) revert NotReceiver();
        _refund(config, getChannelId(config), amount);
    }

    /// @notice As `refund`, authorized by an EIP-712 `Refund(channelId, nonce, amount)` signature
    /// from the receiverAuthorizer for the current nonce; anyone may relay it.
    function refundWithSignature(
        ChannelConfig calldata config,
        uint128 amount,
        uint256 nonce,
        bytes calldata receiverAuthorizerSignature
    ) external nonReentrant {
        bytes32 channelId = getChannelId(config);
        uint256 expected = _channels[channelId].refundNonce;
        if (nonce != expected) revert InvalidRefundNonce(expected, nonce);
        if (!_isValidSignature(config.receiverAuthorizer, getRefundDigest(channelId, nonce, amount), receiverAuthorizerSignature))
        {
            revert InvalidAuthorizerSignature();
        }
        _refund(config, channelId, amount);
    }

    // ---- timed withdrawal ----

    /// @notice Starts the payer's unilateral withdrawal of `amount` (at most the unclaimed balance);
    /// the receiver keeps claiming vouchers until `finalizeWithdraw` after `withdrawDelay`.
    function initiateWithdraw(ChannelConfig calldata config, uint128 amount) external nonReentrant {
        _requirePayer(config);
        if (amount == 0) revert ZeroAmount();
        bytes32 channelId = getChannelId(config);
        PendingWithdrawal storage pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt != 0) revert WithdrawalPending();
        Channel storage channel = _channels[channelId];
        uint128 available = channel.balance - channel.totalClaimed;
        if (amount > available) revert WithdrawExceedsAvailable(amount, available);
        uint40 now40 = uint40(block.timestamp);
        pending.amount = amount;
        pending.initiatedAt = now40;
        emit WithdrawInitiated(channelId, amount, now40 + config.withdrawDelay);
    }

    /// @notice Completes a withdrawal once its delay has passed, capped at what is still unclaimed.
    function finalizeWithdraw(ChannelConfig calldata config) external nonReentrant {
        _requirePayer(config);
        bytes32 channelId = getChannelId(config);
        PendingWithdrawal memory pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt == 0) revert NoPendingWithdrawal();
        uint40 finalizeAfter = pending.initiatedAt + config.withdrawDelay;
        if (block.timestamp < finalizeAfter) revert WithdrawalTooEarly(finalizeAfter);
        delete pendingWithdrawals[channelId];
        Channel storage channel = _channels[channelId];
        uint96 available = channel.balance - channel.totalClaimed;
        uint96 amount = pending.amount < available ? uint96(pending.amount) : available;
        uint96 balance = channel.balance - amount;
        channel.balance = balance;
        if (amount > 0) _safeTransfer(config.token, config.payer, amount);
        emit WithdrawFinalized(channelId, amount);
        if (balance == 0 && amount > 0) emit ChannelClosed(channelId, config);
    }

    // ---- batching ----

    /// @notice Runs several calls on this contract in one transaction (e.g. claim then refund), as
    /// the caller; any failure reverts all.
    function multicall(bytes[] calldata data) external returns (bytes[] memory results) {
        results = new bytes[](data.length);
        for (uint256 i = 0; i < data.length; ++i) {
            (bool ok, bytes memory result) = address(this).delegatecall(data[i]);
            if (!ok) {
                assembly {
                    revert(add(result, 0x20), mload(result))
                }
            }
            results[i] = result;
        }
    }

    // ---- views ----

    /// @notice A channel's `balance` (deposited minus refunded and withdrawn, claimed part included)
    /// and `totalClaimed` (cumulative, for the receiver).
    function channels(bytes32 channelId) external view returns (uint128 balance, uint128 totalClaimed) {
        Channel storage channel = _channels[channelId];
        return (channel.balance, channel.totalClaimed);
    }

    /// @notice Next nonce `refundWithSignature` accepts; every refund (direct or signed) advances it.
    function refundNonce(bytes32 channelId) external view returns (uint256) {
        return _channels[channelId].refundNonce;
    }

    /// @notice The channel id: the EIP-712 typed-data hash of `config` under this contract's domain.
    function getChannelId(ChannelConfig calldata config) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    CHANNEL_CONFIG_TYPEHASH,
                    config.payer,
                    config.payerAuthorizer,
                    config.receiver,
                    config.receiverAuthorizer,
                    config.token,
                    config.withdrawDelay,
                    config.salt
                )
            )
        );
    }

    function getVoucherDigest(bytes32 channelId, uint128 maxClaimableAmount) public view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, maxClaimableAmount)));
    }

    function getRefundDigest(bytes32 channelId, uint256 nonce, uint128 amount) public view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(REFUND_TYPEHASH, channelId, nonce, amount)));
    }

    function getClaimBatchDigest(VoucherClaim[] calldata voucherClaims) external view returns (bytes32) {
        bytes32[] memory entryHashes = new bytes32[](voucherClaims.length);
        for (uint256 i = 0; i < voucherClaims.length; ++i) {
            VoucherClaim calldata row = voucherClaims[i];
            entryHashes[i] =
                _claimEntryHash(getChannelId(row.voucher.channel), row.voucher.maxClaimableAmount, row.totalClaimed);
        }
        return _hashTypedData(keccak256(abi.encode(CLAIM_BATCH_TYPEHASH, _hashArray(entryHashes))));
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return keccak256(
            abi.encode(EIP712_DOMAIN_TYPEHASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), block.chainid, address(this))
        );
    }

    /// @notice EIP-5267 domain description.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", NAME, VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ---- internals ----

    function _applyClaim(VoucherClaim calldata row, bytes32 channelId) private {
        ChannelConfig calldata config = row.voucher.channel;
        uint128 ceiling = row.voucher.maxClaimableAmount;
        uint128 target = row.totalClaimed;
        if (target > ceiling) revert ClaimExceedsVoucher(channelId, target, ceiling);
        Channel storage channel = _channels[channelId];
        uint128 current = channel.totalClaimed;
        if (target < current) revert ClaimBelowClaimed(channelId, target, current);
        uint128 balance = channel.balance;
        if (target > balance) revert ClaimExceedsBalance(channelId, target, balance);
        // Equal to what is already claimed: a valid no-op (the refund flow resubmits the charged
        // total); nothing changes, so the voucher signature is not worth checking.
        if (target == current) return;
        address voucherSigner = config.payerAuthorizer;
        bool signed = voucherSigner == address(0)
            ? _isValidSignature(config.payer, getVoucherDigest(channelId, ceiling), row.signature)
            : _recover(getVoucherDigest(channelId, ceiling), row.signature) == voucherSigner;
        if (!signed) revert InvalidVoucherSignature(channelId);
        uint128 delta = target - current;
        channel.totalClaimed = uint96(target); // target <= balance, which fits 96 bits
        receivers[config.receiver][config.token].totalClaimed += delta;
        emit Claimed(channelId, msg.sender, delta, target);
    }

    /// @dev Shared by both refund paths: the nonce advances first, then the amount is capped at the
    /// unclaimed balance; a pending withdrawal shrinks by what was refunded (cancelled when covered).
    function _refund(ChannelConfig calldata config, bytes32 channelId, uint128 amount) private {
        if (amount == 0) revert ZeroAmount();
        Channel memory channel = _channels[channelId];
        uint64 nonce = channel.refundNonce;
        channel.refundNonce = nonce + 1;
        uint96 available = channel.balance - channel.totalClaimed;
        uint96 refunded = amount < available ? uint96(amount) : available;
        channel.balance -= refunded;
        _channels[channelId] = channel;
        if (refunded == 0) return;
        uint96 balance = channel.balance;
        PendingWithdrawal storage pending = pendingWithdrawals[channelId];
        if (pending.initiatedAt != 0) {
            if (refunded >= pending.amount) delete pendingWithdrawals[channelId];
            else pending.amount -= refunded;
        }
        _safeTransfer(config.token, config.payer, refunded);
        emit Refunded(channelId, msg.sender, refunded, nonce);
        if (balance == 0) emit ChannelClosed(channelId, config);
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert AmountTooLarge();
        return uint96(value);
    }

    function _requirePayer(ChannelConfig calldata config) private view {
        if (msg.sender != config.payer && (config.payerAuthorizer == address(0) || msg.sender != config.payerAuthorizer))
        {
            revert NotPayer();
        }
    }

    function _validateConfig(ChannelConfig calldata config) private pure {
        if (
            config.payer == address(0) || config.receiver == address(0) || config.receiverAuthorizer == address(0)
                || config.token == address(0)
        ) revert InvalidConfig();
        if (config.withdrawDelay < MIN_WITHDRAW_DELAY || config.withdrawDelay > MAX_WITHDRAW_DELAY) {
            revert WithdrawDelayOutOfRange(config.withdrawDelay);
        }
    }

    function _claimEntryHash(bytes32 channelId, uint128 maxClaimableAmount, uint128 totalClaimed)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(CLAIM_ENTRY_TYPEHASH, channelId, maxClaimableAmount, totalClaimed));
    }

    /// @dev EIP-712 encodes an array of structs as the keccak of the concatenated struct hashes.
    function _hashArray(bytes32[] memory hashes) private pure returns (bytes32 result) {
        assembly {
            result := keccak256(add(hashes, 0x20), mul(mload(hashes), 0x20))
        }
    }

    function _hashTypedData(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    /// @dev 65-byte ECDSA with low s and v in {27, 28}; address(0) for anything malformed.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// @dev EOAs by ECDSA, contracts by EIP-1271.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (signer == address(0)) return false;
        if (signer.code.length > 0) {
            (bool ok, bytes memory result) =
                signer.staticcall(abi.encodeWithSelector(EIP1271_MAGIC_VALUE, digest, signature));
            return ok && result.length >= 32 && abi.decode(result, (bytes32)) == bytes32(EIP1271_MAGIC_VALUE);
        }
        return _recover(digest, signature) == signer;
    }

    function _safeTransfer(address token, address to, uint256 value) private {
        _callToken(token, abi.encodeCall(IERC20Minimal.transfer, (to, value)));
    }

    function _safeTransferFrom(address token, address from, uint256 value) private {
        _callToken(token, abi.encodeCall(IERC20Minimal.transferFrom, (from, address(this), value)));
    }

    /// @dev Tokens that return nothing and tokens that return true both count as success.
    function _callToken(address token, bytes memory data) private {
        if (token.code.length == 0) revert TokenTransferFailed();
        (bool ok, bytes memory result) = token.call(data);
        if (!ok || (result.length != 0 && !abi.decode(result, (bool)))) revert TokenTransferFailed();
    }
}
