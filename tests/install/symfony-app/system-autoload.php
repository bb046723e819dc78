<?php

// Symfony and PSR from Debian's php-symfony-* / php-psr-* packages (composer
// cannot fetch them offline; composer.json's `provide` says they are there).
declare(strict_types=1);

foreach ([
    'Psr/Log/autoload.php',
    'Symfony/Bundle/FrameworkBundle/autoload.php',
    'Symfony/Component/Console/autoload.php',
    'Symfony/Component/HttpClient/autoload.php',
    'Symfony/Component/Messenger/autoload.php',
    'Symfony/Component/Yaml/autoload.php',
] as $file) {
    require_once "/usr/share/php/{$file}";
}
