<?php

declare(strict_types=1);

namespace Incwo\Connector\Exception;

/**
 * An error reported by the core: its class (technical, contract, business,
 * usage), stable code, message, hint and, for contract errors, violations.
 * Messages come from the core, which never puts credentials in them.
 */
abstract class IncwoException extends \RuntimeException
{
    /**
     * @param array<string, mixed> $error the core's `error` object
     */
    public function __construct(
        private readonly array $error,
        private readonly string $rawJson = '',
        ?\Throwable $previous = null,
    ) {
        parent::__construct((string) ($error['message'] ?? 'incwo core error'), 0, $previous);
    }

    /**
     * Builds the exception matching the error's class.
     *
     * @param array<string, mixed> $error the core's `error` object
     */
    public static function fromError(array $error, string $rawJson = ''): self
    {
        return match ($error['class'] ?? 'usage') {
            'technical' => new TechnicalException($error, $rawJson),
            'contract' => new ContractException($error, $rawJson),
            'business' => new BusinessException($error, $rawJson),
            default => new UsageException($error, $rawJson),
        };
    }

    /** The error class: technical, contract, business or usage. */
    public function getErrorClass(): string
    {
        return (string) ($this->error['class'] ?? 'usage');
    }

    /** The stable error code (`contract.invalid`, `usage.malformed_json`…). */
    public function getErrorCode(): string
    {
        return (string) ($this->error['code'] ?? '');
    }

    /** What to do about it, when the core says. */
    public function getHint(): ?string
    {
        return isset($this->error['hint']) ? (string) $this->error['hint'] : null;
    }

    /**
     * Contract violations (`path`, `code`, `message`…), empty for other classes.
     *
     * @return list<array<string, mixed>>
     */
    public function getViolations(): array
    {
        return array_values($this->error['violations'] ?? []);
    }

    /**
     * The whole `error` object as the core returned it.
     *
     * @return array<string, mixed>
     */
    public function getError(): array
    {
        return $this->error;
    }

    /** The core's error document as JSON text (`{"error": {...}}`), when it sent one. */
    public function getRawJson(): string
    {
        return $this->rawJson;
    }
}
