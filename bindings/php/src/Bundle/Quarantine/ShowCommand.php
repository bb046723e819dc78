<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Quarantine;

use Incwo\Connector\Quarantine\Quarantine;
use Symfony\Component\Console\Attribute\AsCommand;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputArgument;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:quarantine:show ID`: one entry: the record (redacted), the
 * violations with their paths or incwo's answer, the runbook line of its
 * code and the requests already made; `--json` prints the entry.
 */
#[AsCommand(name: 'incwo:quarantine:show', description: 'Show one quarantined record: why, the runbook line, the requests made')]
final class ShowCommand extends Command
{
    protected static $defaultName = 'incwo:quarantine:show';

    protected static $defaultDescription = 'Show one quarantined record: why, the runbook line, the requests made';

    public function __construct(private readonly Quarantine $quarantine)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this->setDescription((string) self::$defaultDescription)
            ->addArgument('id', InputArgument::REQUIRED, 'the entry\'s id (q-…, from incwo:quarantine:list)')
            ->addOption('json', null, InputOption::VALUE_NONE, 'print the entry as JSON');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        return Options::run($output, function () use ($input, $output): int {
            $e = $this->quarantine->get((string) $input->getArgument('id'));
            if ($input->getOption('json')) {
                $output->writeln(json_encode($e, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));

                return Command::SUCCESS;
            }
            $output->writeln(self::text($e), OutputInterface::OUTPUT_PLAIN);

            return Command::SUCCESS;
        });
    }

    /**
     * One entry for a person, as `incwo quarantine show` prints it.
     *
     * @param array<string, mixed> $e
     */
    public static function text(array $e): string
    {
        $error = (array) $e['error'];
        $lines = [
            sprintf('%s  %s %s  (line %d of batch %s)', $e['id'], $e['kind'] ?? '-', $e['externalId'] ?? '(no external id)', $e['line'], $e['batch']),
            sprintf('state: %s, quarantined %d time(s), first %s, last %s', $e['state'], $e['attempts'], Options::time((int) $e['firstSeen']), Options::time((int) $e['lastSeen'])),
        ];
        if (isset($e['dropReason'])) {
            $lines[] = 'dropped because: ' . $e['dropReason'];
        }
        $lines[] = sprintf('error: %s %s: %s', $error['class'] ?? '?', $error['code'] ?? '?', $error['message'] ?? '');
        foreach ($error['violations'] ?? [] as $v) {
            $lines[] = sprintf('  %s  %s  %s (hint: %s)', $v['path'] ?? '', $v['code'] ?? '', $v['message'] ?? '', $v['hint'] ?? '');
        }
        if (isset($error['details'])) {
            $lines[] = 'incwo answered: ' . json_encode($error['details'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        }
        $lines[] = 'runbook: ' . $e['runbook'];
        if (($e['requests'] ?? []) === []) {
            $lines[] = 'requests already made: none';
        } else {
            $lines[] = 'requests already made:';
            foreach ($e['requests'] as $r) {
                $lines[] = sprintf('  %s %s → %s', $r['method'], $r['url'], $r['status'] ?? $r['failure'] ?? 'no answer');
            }
        }
        $lines[] = 'record (redacted):';
        $lines[] = json_encode($e['record'], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($e['state'] === 'open') {
            $lines[] = sprintf('replay after the fix: incwo:quarantine:replay %s --record FIXED.json (or --batch ORIGINAL.jsonl)', $e['id']);
        }

        return implode("\n", $lines);
    }
}
