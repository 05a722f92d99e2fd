"""issued forms rendered by a worker after the step's commit: a render lease and attempts on dossier_document

An issued form's row is written in the step's transaction with its number and content but no sha256 yet; the push
worker's loop renders the PDF afterwards (server/forms/rendering.py). The partial index finds the few forms still
pending among every document. Existing forms all have their PDF: nothing to backfill.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

PENDING = "form_key IS NOT NULL AND sha256 IS NULL"


def upgrade():
    with op.batch_alter_table('dossier_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('render_lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('render_attempts', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_dossier_document_render_pending', 'dossier_document', ['id'], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade():
    # A form still pending would have no PDF in the older code, which expects one: render first
    # (flask forms render-pending), then downgrade.
    op.drop_index('ix_dossier_document_render_pending', table_name='dossier_document',
                  postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))
    with op.batch_alter_table('dossier_document', schema=None) as batch_op:
        batch_op.drop_column('render_attempts')
        batch_op.drop_column('render_lease_until')
