"""visit downloads per device; consent per purpose and channel; withheld push deliveries (issue 12, points 4, 5)

* visit_download: which visits (with their person) went to which officer's phone, and when; the breach report
  of a revoked phone lists them (server/breach).
* consent_record.channel and .method, and a partial unique index: at most one consent in force per user,
  purpose and channel (server/consent).
* push_delivery.status 'withheld': not sent, the recipient has no consent in force for its purpose on push. The
  status column is a VARCHAR guarded by the CHECK constraint of server.enums.enum_type, which autogenerate does
  not compare: it is recreated here by hand (batch mode, so that SQLite copies the table).

Push is now sent only with a consent in force. A push subscription made before this revision was made by a tap
after the inbox's explanation of dossier news: each such account gets a consent to "dossier_updates" on push,
dated from its first subscription, marked as given "before_consent_records" with the unversioned text, so that
its history says exactly where it came from. Nothing is assumed for the other purposes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 05:52:45.569867

"""
from alembic import op
import sqlalchemy as sa

import server.types


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_OLD_STATUSES = ('queued', 'sending', 'sent', 'failed', 'expired')
_NEW_STATUSES = _OLD_STATUSES + ('withheld',)
_IN_FORCE = "withdrawn_at IS NULL AND channel IS NOT NULL"


def _recreate_status_check(values):
    with op.batch_alter_table('push_delivery', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_push_delivery_delivery_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_push_delivery_delivery_status'),
                                         "status IN (" + ", ".join(f"'{v}'" for v in values) + ")")


def upgrade():
    op.create_table('visit_download',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('home_visit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('first_sent_at', server.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', server.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('drop_sent_at', server.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_visit_download_device_id_device')),
    sa.ForeignKeyConstraint(['home_visit_id'], ['home_visit.id'], name=op.f('fk_visit_download_home_visit_id_home_visit')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_visit_download_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_download')),
    sa.UniqueConstraint('device_id', 'home_visit_id', name='uq_visit_download_device_visit')
    )
    with op.batch_alter_table('visit_download', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_download_device_id'), ['device_id'], unique=False)

    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Enum('push', 'zalo', 'sms', name='consent_channel', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('method', sa.String(length=32), nullable=True))
        batch_op.create_index('uq_consent_record_in_force', ['user_id', 'purpose', 'channel'], unique=True, sqlite_where=sa.text(_IN_FORCE), postgresql_where=sa.text(_IN_FORCE))
    op.execute("UPDATE consent_record SET method = 'registration' WHERE purpose = 'data_processing'")
    op.execute(
        "INSERT INTO consent_record (user_id, person_id, purpose, channel, text_version, method, granted, "
        "recorded_at) "
        "SELECT s.user_id, u.person_id, 'dossier_updates', 'push', 'unversioned-inbox', 'before_consent_records', "
        "true, MIN(s.created_at) FROM push_subscription s JOIN user_account u ON u.id = s.user_id "
        "GROUP BY s.user_id, u.person_id")

    _recreate_status_check(_NEW_STATUSES)


def downgrade():
    op.execute("UPDATE push_delivery SET status = 'failed' WHERE status = 'withheld'")
    _recreate_status_check(_OLD_STATUSES)
    op.execute("DELETE FROM consent_record WHERE channel IS NOT NULL")
    # The partial index goes first, on its own: SQLite's batch copy would rebuild it on a table without channel.
    op.drop_index('uq_consent_record_in_force', table_name='consent_record')
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consent_record_consent_channel'), type_='check')
        batch_op.drop_column('method')
        batch_op.drop_column('channel')

    with op.batch_alter_table('visit_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_download_device_id'))

    op.drop_table('visit_download')
