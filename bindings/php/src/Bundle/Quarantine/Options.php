<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Quarantine;

use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Checkpoint\StateStoreException;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\ConsoleOutputInterface;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * The options the `incwo:quarantine:*` commands share (filters, retention)
 * and their error reporting: a usage error prints its message and hint and
 * exits 2 (Command::INVALID).
 */
final class Options
{
    /** Adds --code, --class, --resource, --older-than, --status and --retention-days. */
    public static function addFilters(Command $command): void
    {
        $command
            ->addOption('code', null, InputOption::VALUE_REQUIRED, 'error code (contract.invalid), or a prefix ending in "." (business.)')
            ->addOption('class', null, InputOption::VALUE_REQUIRED, 'error class: contract, business, technical, usage')
            ->addOption('resource', null, InputOption::VALUE_REQUIRED, 'the record\'s kind: customer, product, quote, order, invoice, stock-movement, cancellation')
            ->addOption('older-than', null, InputOption::VALUE_REQUIRED, 'first quarantined at least this long ago: 90s, 15m, 2h, 7d')
            ->addOption('status', null, InputOption::VALUE_REQUIRED, 'open (default), replayed, dropped or all');
        self::addRetention($command);
    }

    /** Adds --retention-days. */
    public static function addRetention(Command $command): void
    {
        $command->addOption('retention-days', null, InputOption::VALUE_REQUIRED, 'days an entry is kept after its last change; older ones are deleted (default: the core\'s, 30)');
    }

    /**
     * The filter of `quarantine.list` from the options.
     *
     * @return array<string, mixed>
     */
    public static function filter(InputInterface $input): array
    {
        $age = $input->getOption('older-than');

        return [
            'code' => $input->getOption('code'),
            'class' => $input->getOption('class'),
            'resource' => $input->getOption('resource'),
            'olderThanSeconds' => $age !== null ? self::age((string) $age) : null,
            'state' => $input->getOption('status'),
        ];
    }

    /** --retention-days, or null for the core's default. */
    public static function retention(InputInterface $input): ?int
    {
        $days = $input->getOption('retention-days');
        if ($days === null) {
            return null;
        }
        if (!ctype_digit((string) $days)) {
            throw new \InvalidArgumentException("--retention-days {$days}: give a whole number of days");
        }

        return (int) $days;
    }

    /** Seconds of an age: 90, 90s, 15m, 2h, 7d. */
    public static function age(string $text): int
    {
        if (!preg_match('/^(\d+)([smhd]?)$/', $text, $m)) {
            throw new \InvalidArgumentException("--older-than {$text}: not an age; write 90s, 15m, 2h or 7d");
        }

        return (int) $m[1] * ['' => 1, 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86_400][$m[2]];
    }

    /**
     * Runs `$body`; a usage error (bad option, unknown id, a store or the
     * core that refuses) is printed with its code and hint and exits 2.
     *
     * @param callable(): int $body
     */
    public static function run(OutputInterface $output, callable $body): int
    {
        try {
            return $body();
        } catch (IncwoException $e) {
            return self::fail($output, $e->getErrorCode(), $e->getMessage(), $e->getHint());
        } catch (StateStoreException $e) {
            return self::fail($output, $e->getErrorCode(), $e->getMessage(), $e->getHint());
        } catch (\InvalidArgumentException $e) {
            return self::fail($output, '', $e->getMessage(), null);
        }
    }

    /** The error output (stderr) of a console output, else the output itself. */
    public static function errors(OutputInterface $output): OutputInterface
    {
        return $output instanceof ConsoleOutputInterface ? $output->getErrorOutput() : $output;
    }

    /** `Y-m-d H:i:sZ` of ms since the epoch. */
    public static function time(int $ms): string
    {
        return gmdate('Y-m-d H:i:s\Z', intdiv($ms, 1000));
    }

    private static function fail(OutputInterface $output, string $code, string $message, ?string $hint): int
    {
        $errors = self::errors($output);
        $errors->writeln('<error>' . ($code !== '' ? "[{$code}] " : '') . $message . '</error>');
        if ($hint !== null && $hint !== '') {
            $errors->writeln('hint: ' . $hint);
        }

        return Command::INVALID;
    }
}
