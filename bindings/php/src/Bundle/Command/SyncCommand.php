<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Command;

use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Connector;
use Symfony\Component\Console\Attribute\AsCommand;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Helper\ProgressBar;
use Symfony\Component\Console\Input\InputArgument;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:sync <batch.jsonl>`: syncs a batch (JSON Lines of `{"kind", "record"}`)
 * into incwo with a progress bar (and one with an ETA while the marker
 * index reads list pages: the sweep of a large account). The checkpoint is kept under a key (the
 * file name by default), so running it again replays idempotently and a
 * crashed run resumes where it stopped.
 */
#[AsCommand(name: 'incwo:sync', description: 'Sync a JSON Lines batch of records into incwo')]
final class SyncCommand extends Command
{
    protected static $defaultName = 'incwo:sync';

    protected static $defaultDescription = 'Sync a JSON Lines batch of records into incwo';

    public function __construct(private readonly Connector $connector, private readonly MetricsStore $metrics)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this->setDescription((string) self::$defaultDescription)
            ->addArgument('batch', InputArgument::REQUIRED, 'JSON Lines file, one {"kind", "record"} per line')
            ->addOption('checkpoint-key', null, InputOption::VALUE_REQUIRED, 'key of the checkpoint (default: the file name)')
            ->addOption('seed', null, InputOption::VALUE_REQUIRED, 'the run\'s randomness (retry jitter, run id); random by default');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        $file = (string) $input->getArgument('batch');
        $jsonl = @file_get_contents($file);
        if ($jsonl === false) {
            $output->writeln("<error>cannot read {$file}</error>");

            return Command::INVALID;
        }
        $key = (string) ($input->getOption('checkpoint-key') ?? 'sync-' . basename($file));
        $lines = count(array_filter(explode("\n", $jsonl), static fn (string $l) => trim($l) !== ''));
        $progress = new ProgressBar($output, $lines);
        $progress->start();
        $index = new IndexProgressBar($output);
        try {
            $result = $this->connector->sync(
                $jsonl,
                $key,
                onAction: static function (array $action) use ($progress): void {
                    if (($action['action'] ?? '') === 'recordDone') {
                        $progress->advance();
                    }
                },
                seed: $input->getOption('seed') === null ? null : (int) $input->getOption('seed'),
                onIndexProgress: $index->update(...),
            );
        } finally {
            $index->finish();
        }
        $progress->finish();
        $output->writeln('');
        $this->metrics->add($result->metrics);
        $counts = $result->counts();
        $output->writeln(sprintf(
            'incwo sync: %d records, %d synced, %d skipped, %d quarantined, %d deferred; %d requests',
            $counts['total'] ?? 0,
            $counts['synced'] ?? 0,
            $counts['skipped'] ?? 0,
            $counts['quarantined'] ?? 0,
            $counts['deferred'] ?? 0,
            array_sum($result->log->requests),
        ));
        foreach ($result->outcomes() as $i => $outcome) {
            if (isset($outcome['error'])) {
                $output->writeln(sprintf('  line %d: %s %s: %s', $i + 1, $outcome['outcome'], $outcome['error']['code'] ?? '?', $outcome['error']['message'] ?? ''));
            }
        }
        if (isset($counts['stopped'])) {
            $output->writeln(sprintf('<error>stopped: %s</error>', $counts['stopped']['message'] ?? $counts['stopped']['code'] ?? '?'));

            return Command::FAILURE;
        }

        return ($counts['quarantined'] ?? 0) > 0 ? Command::FAILURE : Command::SUCCESS;
    }
}
